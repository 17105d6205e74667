// Depthwise 7x7 convolution, stride 1, padding 3 ("same"), with AVX-512: ConvNeXt's token mixer.
//
// The portable kernel (depthwise.c) keeps one 16-wide accumulator per output row and loads a
// shifted input vector for every multiply-add, so it is bound by loads at about a third of the
// FMA peak. Here an output tile of R rows x 16 NV columns stays in zmm registers while the
// R + 6 input rows under it stream past: each shifted input vector is loaded once and feeds up to
// 7 output rows (one per kernel row), and a kernel column's 7 weights sit in registers. With
// R = 4, NV = 4 that is 0.36 vector loads per multiply-add, where depthwise.c has one vector load
// and one broadcast per multiply-add.
//
// The same tile computes the forward pass (kernel as is, plus bias) and the input gradient (the
// output gradient convolved with the kernel flipped, no bias). The weight gradient uses the same
// idea in the other direction: one shifted input vector meets the output-gradient rows of three
// kernel rows at once, into 21 accumulators (one per tap), summed across lanes at the end.
//
// Planes are copied into a zero-padded buffer first (3 rows and columns of zeros around, plus 16
// spare columns so a vector read at the last column stays inside the row). Maps of at most 16
// pixels (4x4 and smaller) are one vector per plane instead: each tap that sees the map gathers
// its shifted input with a lane permutation, so no padding and no tap outside the map is touched.
// Without AVX-512 (see adv_has_avx512) the entry points return 0 and the caller uses depthwise.c.
#include "adv_kernels.h"
#include "dispatch.h"

enum { KS = 7, PAD = 3 };

/// Row length of a padded plane of width w: 3 zero columns each side and 16 spare.
static inline long dw7_wp(long w) { return w + 2 * PAD + 16; }

long adv_dw7_scratch(long h, long w) {
    long wp = dw7_wp(w), hp = h + 2 * PAD;
    long w16 = (w + 15) / 16 * 16;
    // padded plane (x or the output gradient) + the output gradient widened to 16 columns + kernel
    return hp * wp + h * w16 + KS * KS + 64;
}

#if ADV_HAVE_AVX512_SOURCE
#include <immintrin.h>

#define ADV_AVX512 __attribute__((target("avx512f")))
#define ADV_INLINE static inline __attribute__((always_inline))

/// Output rows [0, R) x columns [0, 16 NV) of a plane (the last vector's lanes under `last`), from
/// the padded rows starting at `pad` (row length wp); k is the 7x7 kernel, row-major. For each
/// kernel column the 7 weights are broadcast into registers once, then the R + 6 input rows stream
/// past: each shifted input vector is loaded once and feeds the (up to 7) output rows it touches.
/// Registers: R * NV accumulators + 7 weights + NV inputs <= 32.
ADV_INLINE ADV_AVX512 void tile(const int R, const int NV, const float *pad, long wp, const float *k, float bias,
                                float *out, long wo, __mmask16 last) {
    __m512 acc[14][4];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_set1_ps(bias);
    for (int kx = 0; kx < KS; kx++) {
        __m512 wv[KS];
        for (int ky = 0; ky < KS; ky++) wv[ky] = _mm512_set1_ps(k[ky * KS + kx]);
#pragma clang loop unroll(full)
        for (int ir = 0; ir < R + KS - 1; ir++) {
            const float *row = pad + ir * wp + kx;
            __m512 in[4];
            for (int v = 0; v < NV; v++) in[v] = _mm512_loadu_ps(row + 16 * v);
#pragma clang loop unroll(full)
            for (int r = 0; r < R; r++) {
                int ky = ir - r;
                if (ky < 0 || ky >= KS) continue;
                for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(in[v], wv[ky], acc[r][v]);
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) {
            if (v == NV - 1) _mm512_mask_storeu_ps(out + r * wo + 16 * v, last, acc[r][v]);
            else _mm512_storeu_ps(out + r * wo + 16 * v, acc[r][v]);
        }
}

/// out (h, w) = bias + the padded plane `pad` correlated with k. Needs h >= 8.
static ADV_AVX512 void plane(const float *pad, long wp, const float *k, float bias, float *out, long h, long w) {
    for (long c0 = 0; c0 < w; c0 += 64) {
        long cols = w - c0 < 64 ? w - c0 : 64;
        int nv = (int)((cols + 15) / 16);
        int rem = (int)(cols % 16);
        __mmask16 last = rem == 0 ? (__mmask16)0xFFFF : (__mmask16)((1u << rem) - 1);
        // Rows per tile: as many as the registers allow (14 for one vector only on maps that tall).
        int R = nv == 1 ? (h >= 14 ? 14 : 8) : nv == 2 ? 8 : nv == 3 ? 6 : 4;
        for (long r0 = 0; r0 < h; r0 += R) {
            // The last tile overlaps the one before it instead of running short: same values stored twice.
            long r = r0 + R <= h ? r0 : h - R;
            const float *p = pad + r * wp + c0;
            float *o = out + r * w + c0;
            switch (nv * 100 + R) {
                case 114: tile(14, 1, p, wp, k, bias, o, w, last); break;
                case 108: tile(8, 1, p, wp, k, bias, o, w, last); break;
                case 208: tile(8, 2, p, wp, k, bias, o, w, last); break;
                case 306: tile(6, 3, p, wp, k, bias, o, w, last); break;
                default: tile(4, 4, p, wp, k, bias, o, w, last); break;
            }
        }
    }
}

/// Copies plane src (h, w) into the padded buffer (row length wp) at row and column offset 3, a
/// vector at a time (a memcpy call per row of 14 floats cost several percent of a 14x14 plane's
/// time); the masked last vector leaves the zero columns after the row alone.
static inline ADV_AVX512 void place(const float *src, long h, long w, float *pad, long wp) {
    long full = w / 16 * 16;
    __mmask16 tm = (__mmask16)((1u << (w % 16)) - 1);
    for (long r = 0; r < h; r++) {
        const float *s = src + r * w;
        float *d = pad + (r + PAD) * wp + PAD;
        for (long c = 0; c < full; c += 16) _mm512_storeu_ps(d + c, _mm512_loadu_ps(s + c));
        if (tm) _mm512_mask_storeu_ps(d + full, tm, _mm512_maskz_loadu_ps(tm, s + full));
    }
}

// MARK: maps of at most 16 pixels (ConvNeXt's later stages at 32x32: 4x4, 2x2, 1x1)

/// For each tap that sees the map at all, the lane permutation and mask that gather its shifted
/// input for all h * w outputs of a plane at once (a plane is one vector): output lane o = oh w +
/// ow takes input lane (oh + ky - 3) w + (ow + kx - 3) when that pixel is inside the map.
typedef struct {
    __m512i idx[KS * KS];
    __mmask16 mask[KS * KS];
    int tap[KS * KS];
    int n;
} small_plan;

static ADV_AVX512 void small_plan_make(long h, long w, small_plan *pl) {
    pl->n = 0;
    for (int t = 0; t < KS * KS; t++) {
        int ky = t / KS, kx = t % KS;
        int idx[16] = {0};
        unsigned m = 0;
        for (long o = 0; o < h * w; o++) {
            long ih = o / w + ky - PAD, iw = o % w + kx - PAD;
            if (ih >= 0 && ih < h && iw >= 0 && iw < w) {
                idx[o] = (int)(ih * w + iw);
                m |= 1u << o;
            }
        }
        if (!m) continue;
        pl->idx[pl->n] = _mm512_loadu_si512(idx);
        pl->mask[pl->n] = (__mmask16)m;
        pl->tap[pl->n] = t;
        pl->n++;
    }
}

/// dst planes = bias + src planes correlated with their 7x7 kernel (flipped when flip), h w <= 16.
static ADV_AVX512 void small_planes(const float *src, const float *k, const float *bias, int flip, float *dst,
                                    long p0, long p1, long c, long h, long w) {
    small_plan pl;
    small_plan_make(h, w, &pl);
    __mmask16 all = (__mmask16)((1u << (h * w)) - 1);
    for (long p = p0; p < p1; p++) {
        long ch = p % c;
        const float *kp = k + ch * KS * KS;
        __m512 xv = _mm512_maskz_loadu_ps(all, src + p * h * w);
        __m512 acc = _mm512_set1_ps(bias ? bias[ch] : 0.0f);
        for (int j = 0; j < pl.n; j++) {
            int t = flip ? KS * KS - 1 - pl.tap[j] : pl.tap[j];
            __m512 sh = _mm512_maskz_permutexvar_ps(pl.mask[j], pl.idx[j], xv);
            acc = _mm512_fmadd_ps(sh, _mm512_set1_ps(kp[t]), acc);
        }
        _mm512_mask_storeu_ps(dst + p * h * w, all, acc);
    }
}

/// Weight gradients for h w <= 16. Per channel, the planes of this range that belong to it (every
/// c-th) accumulate g * (input shifted by tap t) lane-wise into one vector per tap, only in the
/// lanes where the tap sees the map; the lanes are summed once per channel, into the row of its
/// first plane here (the caller sums the rows of a channel, so where the sum lands does not matter).
static ADV_AVX512 void small_weight_grad(const float *x, const float *g, float *dk_planes, long p0, long p1, long c,
                                         long h, long w) {
    small_plan pl;
    small_plan_make(h, w, &pl);
    __mmask16 all = (__mmask16)((1u << (h * w)) - 1);
    __m512 acc[KS * KS];
    for (long first = p0; first < p1 && first < p0 + c; first++) {
        for (int j = 0; j < pl.n; j++) acc[j] = _mm512_setzero_ps();
        for (long p = first; p < p1; p += c) {
            __m512 xv = _mm512_maskz_loadu_ps(all, x + p * h * w);
            __m512 gv = _mm512_maskz_loadu_ps(all, g + p * h * w);
            for (int j = 0; j < pl.n; j++)
                acc[j] = _mm512_mask3_fmadd_ps(gv, _mm512_maskz_permutexvar_ps(pl.mask[j], pl.idx[j], xv), acc[j],
                                               pl.mask[j]);
        }
        float *dk = dk_planes + first * KS * KS;
        for (int j = 0; j < pl.n; j++) dk[pl.tap[j]] += _mm512_reduce_add_ps(acc[j]);
    }
}

int adv_dw7_planes(const float *src, const float *k, const float *bias, int flip, float *dst, long p0, long p1,
                   long c, long h, long w, float *scratch) {
    if (!adv_has_avx512()) return 0;
    if (h * w <= 16) {
        small_planes(src, k, bias, flip, dst, p0, p1, c, h, w);
        return 1;
    }
    if (h < 8) return 0;
    long wp = dw7_wp(w), hp = h + 2 * PAD;
    float *pad = scratch, *kf = scratch + hp * wp + h * ((w + 15) / 16 * 16);
    memset(pad, 0, (size_t)(hp * wp) * sizeof(float));
    for (long p = p0; p < p1; p++) {
        long ch = p % c;
        const float *kp = k + ch * KS * KS;
        if (flip) {
            for (int t = 0; t < KS * KS; t++) kf[t] = kp[KS * KS - 1 - t];
            kp = kf;
        }
        place(src + p * h * w, h, w, pad, wp);
        plane(pad, wp, kp, bias ? bias[ch] : 0.0f, dst + p * h * w, h, w);
    }
    return 1;
}

/// dk[ky][kx] += sum over output rows oh < h and columns ow < w of g[oh][ow] * x[oh + ky][ow + kx],
/// for the KB kernel rows ky0 ..< ky0 + KB. gz: the output gradient, rows widened to w16 columns;
/// xpad: the padded input (row length wp). Only real (oh, ow) pairs are multiplied, never a zero
/// gradient by an input value, so an inf or NaN in x reaches only the taps that really see it.
ADV_INLINE ADV_AVX512 void weight_rows(const int KB, long ky0, const float *gz, long w16, long w, const float *xpad,
                                       long wp, long h, float *dk) {
    __m512 acc[3][KS];
    for (int b = 0; b < KB; b++)
        for (int kx = 0; kx < KS; kx++) acc[b][kx] = _mm512_setzero_ps();
    long wfull = w / 16 * 16;
    __mmask16 tail = (__mmask16)((1u << (w - wfull)) - 1);
    // Input row rho (in padded coordinates) meets output row rho - ky for each ky in the block.
    for (long rho = ky0; rho < h + ky0 + KB - 1; rho++) {
        const float *xr = xpad + rho * wp;
        int valid[3];
        for (int b = 0; b < KB; b++) valid[b] = rho - (ky0 + b) >= 0 && rho - (ky0 + b) < h;
        for (long c0 = 0; c0 < wfull + (tail ? 16 : 0); c0 += 16) {
            __mmask16 m = c0 < wfull ? (__mmask16)0xFFFF : tail;
            __m512 gv[3];
            for (int b = 0; b < KB; b++)
                gv[b] = valid[b] ? _mm512_loadu_ps(gz + (rho - (ky0 + b)) * w16 + c0) : _mm512_setzero_ps();
            for (int kx = 0; kx < KS; kx++) {
                __m512 xv = _mm512_loadu_ps(xr + c0 + kx);
                for (int b = 0; b < KB; b++)
                    if (valid[b]) acc[b][kx] = _mm512_mask3_fmadd_ps(gv[b], xv, acc[b][kx], m);
            }
        }
    }
    for (int b = 0; b < KB; b++)
        for (int kx = 0; kx < KS; kx++) dk[(ky0 + b) * KS + kx] += _mm512_reduce_add_ps(acc[b][kx]);
}

static ADV_AVX512 void weight_grad_planes(const float *x, const float *g, float *dk_planes, long p0, long p1, long h, long w,
                                          float *scratch) {
    long wp = dw7_wp(w), hp = h + 2 * PAD;
    long w16 = (w + 15) / 16 * 16;
    float *xpad = scratch, *gz = scratch + hp * wp;
    memset(xpad, 0, (size_t)(hp * wp) * sizeof(float));
    memset(gz, 0, (size_t)(h * w16) * sizeof(float));
    for (long p = p0; p < p1; p++) {
        place(x + p * h * w, h, w, xpad, wp);
        for (long r = 0; r < h; r++) memcpy(gz + r * w16, g + p * h * w + r * w, (size_t)w * sizeof(float));
        float *dk = dk_planes + p * KS * KS;
        weight_rows(3, 0, gz, w16, w, xpad, wp, h, dk);
        weight_rows(3, 3, gz, w16, w, xpad, wp, h, dk);
        weight_rows(1, 6, gz, w16, w, xpad, wp, h, dk);
    }
}

int adv_dw7_weight_grad(const float *x, const float *g, float *dk_planes, long p0, long p1, long c, long h,
                        long w, float *scratch) {
    if (!adv_has_avx512()) return 0;
    if (h * w <= 16) {
        small_weight_grad(x, g, dk_planes, p0, p1, c, h, w);
        return 1;
    }
    if (h < 8) return 0;
    weight_grad_planes(x, g, dk_planes, p0, p1, h, w, scratch);
    return 1;
}

#else
int adv_dw7_planes(const float *src, const float *k, const float *bias, int flip, float *dst, long p0, long p1,
                   long c, long h, long w, float *scratch) {
    (void)src; (void)k; (void)bias; (void)flip; (void)dst; (void)p0; (void)p1; (void)c; (void)h; (void)w; (void)scratch;
    return 0;
}
int adv_dw7_weight_grad(const float *x, const float *g, float *dk_planes, long p0, long p1, long c, long h,
                        long w, float *scratch) {
    (void)x; (void)g; (void)dk_planes; (void)p0; (void)p1; (void)c; (void)h; (void)w; (void)scratch;
    return 0;
}
#endif
