// Softmax of short rows with AVX-512 intrinsics: attention's score rows are 16 to 200 floats
// long, where the portable loops of elementwise.c spend most of their time in scalar tails and in
// 16-step serial horizontal reductions. Here the last partial vector of a row is masked and the
// reductions are trees. When a row's tail is short (49 = 3 x 16 + 1), the four rows of a block
// put their tails side by side in one vector, so they cost one exp instead of four. Same exp
// polynomial as gelu.h's exp_poly (scaled by scalef), same NaN behaviour. Tails are
// loaded before a row's stores and written with scalar stores: attention runs both directions in
// place, where a masked load or store whose 64 bytes overlap a recent store stalls until that
// store retires (a 49-key softmax took 1.25 instead of 0.88 us per head that way).
// attention512.c also asks for the rows unnormalized (the 1 / sum goes into P v's epilogue).
// Called by adv_softmax_rows / adv_softmax_rows_backward when the CPU has AVX-512.
#include "dispatch.h"

#if ADV_HAVE_AVX512_SOURCE
#include <immintrin.h>

#define ADV_AVX512 __attribute__((target("avx512f")))

/// e^x lane by lane for x <= 88.7 (softmax only exponentiates x - max <= 0): the Cephes range
/// reduction and polynomial of gelu.h's exp_poly, evaluated by Horner to the end, with
/// the 2^n scaling done by scalef. Inputs below -87.3 are clamped to it as exp_poly does (so -inf
/// gives about 1e-38, not NaN); NaN stays NaN.
static inline __attribute__((always_inline)) ADV_AVX512 __m512 exp512(__m512 x0) {
    // The input is max_ps's second operand, which it returns when either is NaN.
    __m512 x = _mm512_max_ps(_mm512_set1_ps(-87.3f), x0);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.442695040888963f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

static inline __attribute__((always_inline)) __mmask16 tail_mask(long n) {
    long rem = n % 16;
    return rem == 0 ? (__mmask16)0 : (__mmask16)((1u << rem) - 1);
}

/// y[0, rem) = lanes [first, first + rem) of v, one scalar store per lane: a masked vector store
/// would span past the row into the next one, and on this hardware a later load there (the next
/// block's first row, when the softmax runs in place) then waits for the store to retire even
/// though the lanes it needs were masked off. (Nor does a 64-byte store to a stack buffer
/// forward to scalar loads of single lanes.)
static inline __attribute__((always_inline)) ADV_AVX512 void store_tail(float *y, __m512 v, long first, long rem) {
    for (long j = 0; j < rem; j++)
        _mm_store_ss(y + j, _mm512_castps512_ps128(_mm512_permutexvar_ps(_mm512_set1_epi32((int)(first + j)), v)));
}

/// Softmax of R rows at once (R <= 4): the rows' max, exp-sum and scale passes are interleaved,
/// so the latency of one row's reductions and division overlaps the others' work (a 49-float
/// row is only 4 vectors: one row at a time spends most of its time waiting). With `inv`, the
/// scale pass is left out: y holds exp(x - max) and inv[r] = 1 / (the row's sum).
/// The rows' tails (n % 16 floats) are loaded once, before the block stores anything, and kept
/// in registers: in place, reloading them would hit the block's own fresh stores.
static inline __attribute__((always_inline)) ADV_AVX512 void softmax_block(const int R, const float *x, float *y,
                                                                          long n, long full, __mmask16 tm,
                                                                          float *inv, adv_prefetch_cursor *pf) {
    __m512 mv[4], m[4], sv[4], iz[4], tail[4];
    if (pf) adv_prefetch_step(pf);
    for (int r = 0; r < R; r++) mv[r] = _mm512_set1_ps(-__builtin_inff());
    // NaNs are skipped by the max (max_ps returns its second operand then); they still
    // propagate through exp, as in the portable version.
    for (long i = 0; i < full; i += 16)
        for (int r = 0; r < R; r++) mv[r] = _mm512_max_ps(_mm512_loadu_ps(x + r * n + i), mv[r]);
    if (tm)
        for (int r = 0; r < R; r++) {
            tail[r] = _mm512_maskz_loadu_ps(tm, x + r * n + full);
            mv[r] = _mm512_mask_max_ps(mv[r], tm, tail[r], mv[r]);
        }
    for (int r = 0; r < R; r++) {
        m[r] = _mm512_set1_ps(_mm512_reduce_max_ps(mv[r]));
        sv[r] = _mm512_setzero_ps();
    }
    for (long i = 0; i < full; i += 16)
        for (int r = 0; r < R; r++) {
            __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(x + r * n + i), m[r]));
            _mm512_storeu_ps(y + r * n + i, e);
            sv[r] = _mm512_add_ps(sv[r], e);
        }
    long rem = n - full;
    int shared_tail = tm && R > 1 && R * rem <= 16;
    __m512 e = _mm512_setzero_ps();
    if (shared_tail) {
        // Short tails (Swin's 49 = 3 x 16 + 1): the R rows' tails share one exp vector, row r's in
        // lanes [r rem, (r + 1) rem).
        __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        __m512 tv = tail[0], tmax = m[0];
        for (int r = 1; r < R; r++) {
            __mmask16 lanes = (__mmask16)(tm << (r * rem));
            __m512i from = _mm512_sub_epi32(iota, _mm512_set1_epi32((int)(r * rem)));
            tv = _mm512_mask_permutexvar_ps(tv, lanes, from, tail[r]);
            tmax = _mm512_mask_mov_ps(tmax, lanes, m[r]);
        }
        e = exp512(_mm512_sub_ps(tv, tmax));
        for (int r = 0; r < R; r++) sv[r] = _mm512_mask_add_ps(sv[r], (__mmask16)(tm << (r * rem)), sv[r], e);
    } else if (tm)
        for (int r = 0; r < R; r++) {
            tail[r] = exp512(_mm512_sub_ps(tail[r], m[r]));
            sv[r] = _mm512_mask_add_ps(sv[r], tm, sv[r], tail[r]);
        }
    if (inv) {
        for (int r = 0; r < R; r++) inv[r] = 1.0f / _mm512_reduce_add_ps(sv[r]);
    } else {
        for (int r = 0; r < R; r++) iz[r] = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sv[r]));
        for (long i = 0; i < full; i += 16)
            for (int r = 0; r < R; r++) _mm512_storeu_ps(y + r * n + i, _mm512_mul_ps(_mm512_loadu_ps(y + r * n + i), iz[r]));
        if (shared_tail) {
            __m512 izc = _mm512_setzero_ps();
            for (int r = 0; r < R; r++) izc = _mm512_mask_mov_ps(izc, (__mmask16)(tm << (r * rem)), iz[r]);
            e = _mm512_mul_ps(e, izc);
        } else if (tm)
            for (int r = 0; r < R; r++) tail[r] = _mm512_mul_ps(tail[r], iz[r]);
    }
    // The tails' exps never left the registers: store them (scaled unless inv).
    if (shared_tail)
        for (int r = 0; r < R; r++) store_tail(y + r * n + full, e, r * rem, rem);
    else if (tm)
        for (int r = 0; r < R; r++) store_tail(y + r * n + full, tail[r], 0, rem);
}

ADV_AVX512 void adv_softmax_rows_avx512(const float *x, float *y, long rows, long n) {
    adv_softmax_rows_avx512_pf(x, y, rows, n, NULL, NULL);
}

long adv_softmax_blocks(long rows) { return rows / 4 + rows % 4; }

ADV_AVX512 void adv_softmax_rows_avx512_pf(const float *x, float *y, long rows, long n, float *inv_sum,
                                           adv_prefetch_cursor *pf) {
    long full = n / 16 * 16;
    __mmask16 tm = tail_mask(n);
    long row = 0;
    for (; row + 4 <= rows; row += 4)
        softmax_block(4, x + row * n, y + row * n, n, full, tm, inv_sum ? inv_sum + row : NULL, pf);
    for (; row < rows; row++) softmax_block(1, x + row * n, y + row * n, n, full, tm, inv_sum ? inv_sum + row : NULL, pf);
}

ADV_AVX512 void adv_softmax_rows_backward_avx512(const float *g, const float *y, float *dx, long rows, long n) {
    long full = n / 16 * 16;
    __mmask16 tm = tail_mask(n);
    for (long row = 0; row < rows; row++) {
        const float *gr = g + row * n, *yr = y + row * n;
        float *d = dx + row * n;
        __m512 sv = _mm512_setzero_ps(), gt = _mm512_setzero_ps(), yt = _mm512_setzero_ps();
        for (long i = 0; i < full; i += 16) sv = _mm512_fmadd_ps(_mm512_loadu_ps(gr + i), _mm512_loadu_ps(yr + i), sv);
        if (tm) {
            // The tails stay in registers (in place, a reload would follow this row's stores).
            gt = _mm512_maskz_loadu_ps(tm, gr + full);
            yt = _mm512_maskz_loadu_ps(tm, yr + full);
            sv = _mm512_fmadd_ps(gt, yt, sv);
        }
        __m512 s = _mm512_set1_ps(_mm512_reduce_add_ps(sv));
        for (long i = 0; i < full; i += 16) {
            __m512 yv = _mm512_loadu_ps(yr + i);
            _mm512_storeu_ps(d + i, _mm512_mul_ps(yv, _mm512_sub_ps(_mm512_loadu_ps(gr + i), s)));
        }
        if (tm) store_tail(d + full, _mm512_mul_ps(yt, _mm512_sub_ps(gt, s)), 0, n - full);
    }
}
#endif
