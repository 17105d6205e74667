// Attention's forward pass over a range of heads with AVX-512: per head, scores = scale q k^T +
// bias (smallgemm.c, the bias added in the tiles' epilogue), softmax in place (softmax512.c),
// optional bf16 rounding of the probabilities, then out = P v (in fp32 with the softmax's
// normalization applied to the rows of e v instead of to the scores). With bf16_products both
// products run on the AVX512-BF16 kernel instead (bf16gemm.c: operands rounded to bf16 as they
// are packed, vdpbf16ps, fp32 accumulation), the bias copied into the scores first; the
// prefetch then steps once per softmax block and once after each product.
// q: (T, D), k: (S, D), v: (S, Dv) per head, rows ld apart -> out (T, Dv) per head
//
// The point of doing the loop over heads here rather than in Swift is the prefetch: a head's
// products and softmax take a few microseconds on data that, in the large cases (Swin-T's 7x7
// windows at 224: 38 MB of q, k, v and output), comes from memory. Prefetching the next heads'
// q, k, v in one burst stalls the core on full miss queues; here the lines of the head two
// ahead (more for small heads) are issued a few at a time, one step per register tile and
// softmax block, so the loads overlap with the arithmetic (adv_prefetch_cursor, dispatch.h).
#include "adv_kernels.h"
#include "dispatch.h"

#if ADV_HAVE_AVX512_SOURCE
#include <immintrin.h>

/// Heads ahead whose q, k, v are prefetched while this one computes: two, or as many as make
/// about 100k FLOPs (a microsecond or two) for small heads (Swin's 4x4 windows: 4).
static long prefetch_distance(const adv_attention_args *a) {
    long flops = 2 * a->t * a->s * (a->d + a->dv);
    long n = 1 + 100000 / (flops > 0 ? flops : 1);
    return n < 2 ? 2 : n > 8 ? 8 : n;
}

static void head_inputs(const adv_attention_args *a, long bh, const float **q, const float **k, const float **v) {
    long b = bh / a->heads, h = bh % a->heads;
    *q = a->q + b * a->q_batch + h * a->q_head;
    *k = a->k + b * a->k_batch + h * a->k_head;
    *v = a->v + b * a->v_batch + h * a->v_head;
}

/// Region r of the cursor: `rows` rows of `width` floats, `ld` floats apart (one contiguous
/// run when ld == width). Rows start at the cache line that holds their first float, so a row
/// that does not start on a line boundary still gets its last line.
static void set_region(adv_prefetch_cursor *c, int r, const float *p, long rows, long width, long ld) {
    long skew = (long)((uintptr_t)p % 64);
    c->base[r] = (const char *)p - skew;
    if (ld == width) {
        c->rows[r] = 1;
        c->row_bytes[r] = rows * width * (long)sizeof(float) + skew;
    } else {
        c->rows[r] = rows;
        c->row_bytes[r] = width * (long)sizeof(float) + skew;
    }
    c->stride[r] = ld * (long)sizeof(float);
}

/// p[r][:] *= inv[r] for `rows` rows of n floats: the normalization the softmax left out. The
/// tail of a row is scaled one float at a time: a masked vector store there would reach into the
/// next row, whose first load would then wait for it (see softmax512.c).
static __attribute__((target("avx512f"))) void scale_rows(float *p, long rows, long n, const float *inv) {
    long full = n / 16 * 16;
    for (long r = 0; r < rows; r++) {
        float *row = p + r * n;
        __m512 iz = _mm512_set1_ps(inv[r]);
        for (long i = 0; i < full; i += 16) _mm512_storeu_ps(row + i, _mm512_mul_ps(_mm512_loadu_ps(row + i), iz));
        for (long i = full; i < n; i++) row[i] *= inv[r];
    }
}

/// A cursor over head bh's q, k and v that finishes in `steps` steps.
static void head_cursor(adv_prefetch_cursor *c, const adv_attention_args *a, long bh, long steps) {
    const float *q, *k, *v;
    head_inputs(a, bh, &q, &k, &v);
    set_region(c, 0, q, a->t, a->d, a->ldq);
    set_region(c, 1, k, a->s, a->d, a->ldk);
    set_region(c, 2, v, a->s, a->dv, a->ldv);
    long lines = 0;
    for (int r = 0; r < 3; r++) lines += c->rows[r] * ((c->row_bytes[r] + 63) / 64);
    c->regions = 3;
    c->region = 0;
    c->row = 0;
    c->offset = 0;
    c->chunk = (lines + steps - 1) / steps;
}

/// Head bh's attention with both products on the AVX512-BF16 kernel: scores = scale q k^T +
/// bias into sp (the bias copied in first, beta 1), P = softmax(scores) normalized in place, out
/// = P v. Returns 0 when the kernel declines (no scratch memory).
static int head_bf16(const adv_attention_args *a, const float *q, const float *k, const float *v, const float *bias,
                     float *sp, float *out, adv_prefetch_cursor *cur) {
    long t = a->t, s = a->s;
    if (bias)
        for (long i = 0; i < t; i++) memcpy(sp + i * s, bias + i * a->ldbias, (size_t)s * sizeof(float));
    if (!adv_sgemm_bf16(0, 1, t, s, a->d, a->scale, q, a->ldq, k, a->ldk, bias ? 1.0f : 0.0f, sp, s)) return 0;
    if (cur) adv_prefetch_step(cur);
    adv_softmax_rows_avx512_pf(sp, sp, t, s, NULL, cur);
    if (!adv_sgemm_bf16(0, 0, t, a->dv, s, 1.0f, sp, s, v, a->ldv, 0.0f, out, a->ldo)) return 0;
    if (cur) adv_prefetch_step(cur);
    return 1;
}

int adv_attention_forward(const adv_attention_args *a, long h0, long h1, float *scratch) {
    if (!adv_has_avx512() || a->t <= 0 || a->s <= 0 || a->d <= 0 || a->dv <= 0) return 0;
    long t = a->t, s = a->s;
    int bf16 = a->round_bf16 && a->bf16_products;
    if (bf16 && !adv_has_bf16()) return 0;
    // Prefetch steps per head: one per tile of both products (bf16: one per product) and per
    // softmax block.
    long steps = bf16 ? 2 + adv_softmax_blocks(t)
                      : adv_sgemm_small_tiles(1, t, s) + adv_softmax_blocks(t) + adv_sgemm_small_tiles(0, t, a->dv);
    if (steps < 1) steps = 1;
    long dist = prefetch_distance(a);
    adv_prefetch_cursor pf;
    // scratch: the rows' 1 / sum, then (without probs) the scores and the rounded probabilities.
    float *inv = scratch, *work = scratch + t;
    // The heads before the first that the cursor covers: all at once.
    for (long bh = h0 + 1; bh < h0 + dist && bh < h1; bh++) {
        head_cursor(&pf, a, bh, 1);
        pf.chunk = 1L << 40;
        adv_prefetch_step(&pf);
    }
    for (long bh = h0; bh < h1; bh++) {
        long b = bh / a->heads, h = bh % a->heads;
        const float *q, *k, *v;
        head_inputs(a, bh, &q, &k, &v);
        adv_prefetch_cursor *cur = NULL;
        if (bh + dist < h1) {
            head_cursor(&pf, a, bh + dist, steps);
            cur = &pf;
        }
        // This head's scores, then probabilities (kept for backward, or in scratch), and the
        // probabilities rounded for the second product.
        float *sp = a->probs ? a->probs + bh * t * s : work;
        float *rp = !a->round_bf16 ? sp : a->rprobs ? a->rprobs + bh * t * s : work + t * s;
        const float *bias = a->bias ? a->bias + (b % a->bias_groups) * a->bias_batch + h * a->bias_head : NULL;
        float *out = a->out + b * a->out_batch + h * a->out_head;
        if (bf16) {
            if (!head_bf16(a, q, k, v, bias, sp, out, cur)) return 0;
            continue;
        }
        if (!adv_sgemm_small_pf(0, 1, t, s, a->d, a->scale, q, a->ldq, k, a->ldk, bias, a->ldbias, sp, s, NULL, cur))
            return 0;
        if (a->round_bf16) {
            // P is normalized, then rounded, as autocast rounds softmax's output.
            adv_softmax_rows_avx512_pf(sp, sp, t, s, NULL, cur);
            adv_round_bf16(sp, rp, t * s);
            if (!adv_sgemm_small_pf(0, 0, t, a->dv, s, 1.0f, rp, s, v, a->ldv, NULL, 0, out, a->ldo, NULL, cur)) return 0;
        } else {
            // fp32: out = (e v) / z row by row, e = exp(scores - max) left unnormalized, which
            // saves a pass over the scores; P = e / z is written only when kept for backward
            // (the same values the normalizing softmax gives).
            adv_softmax_rows_avx512_pf(sp, sp, t, s, inv, cur);
            if (!adv_sgemm_small_pf(0, 0, t, a->dv, s, 1.0f, sp, s, v, a->ldv, NULL, 0, out, a->ldo, inv, cur)) return 0;
            if (a->probs) scale_rows(sp, t, s, inv);
        }
    }
    return 1;
}

#else
int adv_attention_forward(const adv_attention_args *a, long h0, long h1, float *scratch) {
    (void)a; (void)h0; (void)h1; (void)scratch;
    return 0;
}
#endif
