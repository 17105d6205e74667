// Softmax of short rows with AVX-512 intrinsics: attention's score rows are 16 to 200 floats
// long, where the portable loops of elementwise.c spend most of their time in scalar tails and in
// 16-step serial horizontal reductions. Here the last partial vector of a row is masked and the
// reductions are trees. When a row's tail is short (49 = 3 x 16 + 1), the four rows of a block
// put their tails side by side in one vector, so they cost one exp instead of four. Same exp
// polynomial as elementwise.c's exp_poly (scaled by scalef), same NaN behaviour.
// Called by adv_softmax_rows / adv_softmax_rows_backward when the CPU has AVX-512.
#include "dispatch.h"

#if ADV_HAVE_AVX512_SOURCE
#include <immintrin.h>

#define ADV_AVX512 __attribute__((target("avx512f")))

/// e^x lane by lane for x <= 88.7 (softmax only exponentiates x - max <= 0): the Cephes range
/// reduction and polynomial of elementwise.c's exp_poly, evaluated by Horner to the end, with
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

/// Softmax of R rows at once (R <= 4): the rows' max, exp-sum and scale passes are interleaved,
/// so the latency of one row's reductions and division overlaps the others' work (a 49-float
/// row is only 4 vectors: one row at a time spends most of its time waiting).
static inline __attribute__((always_inline)) ADV_AVX512 void softmax_block(const int R, const float *x, float *y,
                                                                          long n, long full, __mmask16 tm) {
    __m512 mv[4], m[4], sv[4], iz[4];
    for (int r = 0; r < R; r++) mv[r] = _mm512_set1_ps(-__builtin_inff());
    // NaNs are skipped by the max (max_ps returns its second operand then); they still
    // propagate through exp, as in the portable version.
    for (long i = 0; i < full; i += 16)
        for (int r = 0; r < R; r++) mv[r] = _mm512_max_ps(_mm512_loadu_ps(x + r * n + i), mv[r]);
    if (tm)
        for (int r = 0; r < R; r++) mv[r] = _mm512_mask_max_ps(mv[r], tm, _mm512_maskz_loadu_ps(tm, x + r * n + full), mv[r]);
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
        // lanes [r rem, (r + 1) rem), loaded and stored at an address shifted back by r rem.
        __m512 tv = _mm512_setzero_ps(), tmax = _mm512_setzero_ps();
        for (int r = 0; r < R; r++) {
            __mmask16 lanes = (__mmask16)(tm << (r * rem));
            tv = _mm512_mask_loadu_ps(tv, lanes, x + r * n + full - r * rem);
            tmax = _mm512_mask_mov_ps(tmax, lanes, m[r]);
        }
        e = exp512(_mm512_sub_ps(tv, tmax));
        for (int r = 0; r < R; r++) sv[r] = _mm512_mask_add_ps(sv[r], (__mmask16)(tm << (r * rem)), sv[r], e);
    } else if (tm)
        for (int r = 0; r < R; r++) {
            __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(tm, x + r * n + full), m[r]));
            _mm512_mask_storeu_ps(y + r * n + full, tm, e);
            sv[r] = _mm512_mask_add_ps(sv[r], tm, sv[r], e);
        }
    for (int r = 0; r < R; r++) iz[r] = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sv[r]));
    for (long i = 0; i < full; i += 16)
        for (int r = 0; r < R; r++) _mm512_storeu_ps(y + r * n + i, _mm512_mul_ps(_mm512_loadu_ps(y + r * n + i), iz[r]));
    if (shared_tail) {
        // The tails' exps never left the register: scale them there and store them.
        __m512 izc = _mm512_setzero_ps();
        for (int r = 0; r < R; r++) izc = _mm512_mask_mov_ps(izc, (__mmask16)(tm << (r * rem)), iz[r]);
        e = _mm512_mul_ps(e, izc);
        for (int r = 0; r < R; r++) _mm512_mask_storeu_ps(y + r * n + full - r * rem, (__mmask16)(tm << (r * rem)), e);
    } else if (tm)
        for (int r = 0; r < R; r++)
            _mm512_mask_storeu_ps(y + r * n + full, tm, _mm512_mul_ps(_mm512_maskz_loadu_ps(tm, y + r * n + full), iz[r]));
}

ADV_AVX512 void adv_softmax_rows_avx512(const float *x, float *y, long rows, long n) {
    long full = n / 16 * 16;
    __mmask16 tm = tail_mask(n);
    long row = 0;
    for (; row + 4 <= rows; row += 4) softmax_block(4, x + row * n, y + row * n, n, full, tm);
    for (; row < rows; row++) softmax_block(1, x + row * n, y + row * n, n, full, tm);
}

ADV_AVX512 void adv_softmax_rows_backward_avx512(const float *g, const float *y, float *dx, long rows, long n) {
    long full = n / 16 * 16;
    __mmask16 tm = tail_mask(n);
    for (long row = 0; row < rows; row++) {
        const float *gr = g + row * n, *yr = y + row * n;
        float *d = dx + row * n;
        __m512 sv = _mm512_setzero_ps();
        for (long i = 0; i < full; i += 16) sv = _mm512_fmadd_ps(_mm512_loadu_ps(gr + i), _mm512_loadu_ps(yr + i), sv);
        if (tm) sv = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tm, gr + full), _mm512_maskz_loadu_ps(tm, yr + full), sv);
        __m512 s = _mm512_set1_ps(_mm512_reduce_add_ps(sv));
        for (long i = 0; i < full; i += 16) {
            __m512 yv = _mm512_loadu_ps(yr + i);
            _mm512_storeu_ps(d + i, _mm512_mul_ps(yv, _mm512_sub_ps(_mm512_loadu_ps(gr + i), s)));
        }
        if (tm) {
            __m512 yv = _mm512_maskz_loadu_ps(tm, yr + full);
            _mm512_mask_storeu_ps(d + full, tm, _mm512_mul_ps(yv, _mm512_sub_ps(_mm512_maskz_loadu_ps(tm, gr + full), s)));
        }
    }
}
#endif
