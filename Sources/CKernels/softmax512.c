// Softmax of short rows with AVX-512 intrinsics: attention's score rows are 16 to 200 floats
// long, where the portable loops of elementwise.c spend most of their time in scalar tails and in
// 16-step serial horizontal reductions. Here the last partial vector of a row is masked and the
// reductions are trees. Same exp polynomial as elementwise.c's exp_poly, same NaN behaviour.
// Called by adv_softmax_rows / adv_softmax_rows_backward when the CPU has AVX-512.
#include "dispatch.h"

#if ADV_HAVE_AVX512_SOURCE
#include <immintrin.h>

#define ADV_AVX512 __attribute__((target("avx512f")))

/// e^x lane by lane: exp_poly of elementwise.c (clamp, Cephes reduction, degree-6 polynomial).
static inline __attribute__((always_inline)) ADV_AVX512 __m512 exp512(__m512 x0) {
    __m512 x = _mm512_min_ps(_mm512_max_ps(x0, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.7f));
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    __m512 tt = _mm512_fmadd_ps(x, _mm512_set1_ps(1.442695040888963f), magic);
    __m512 n = _mm512_sub_ps(tt, magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_sub_epi32(_mm512_castps_si512(tt),
                                                                    _mm512_set1_epi32(0x4B400000)),
                                                   _mm512_set1_epi32(127)), 23);
    __m512 y = _mm512_mul_ps(p, _mm512_castsi512_ps(e));
    // NaN in, NaN out (the clamp above would have turned it into a number).
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x0, x0, _CMP_UNORD_Q), y, x0);
}

static inline __attribute__((always_inline)) __mmask16 tail_mask(long n) {
    long rem = n % 16;
    return rem == 0 ? (__mmask16)0 : (__mmask16)((1u << rem) - 1);
}

ADV_AVX512 void adv_softmax_rows_avx512(const float *x, float *y, long rows, long n) {
    long full = n / 16 * 16;
    __mmask16 tm = tail_mask(n);
    for (long row = 0; row < rows; row++) {
        const float *src = x + row * n;
        float *dst = y + row * n;
        // NaNs are skipped by the max (max_ps returns its second operand then); they still
        // propagate through exp, as in the portable version.
        __m512 mv = _mm512_set1_ps(-__builtin_inff());
        for (long i = 0; i < full; i += 16) mv = _mm512_max_ps(_mm512_loadu_ps(src + i), mv);
        if (tm) mv = _mm512_mask_max_ps(mv, tm, _mm512_maskz_loadu_ps(tm, src + full), mv);
        __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mv));
        __m512 sv = _mm512_setzero_ps();
        for (long i = 0; i < full; i += 16) {
            __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(src + i), m));
            _mm512_storeu_ps(dst + i, e);
            sv = _mm512_add_ps(sv, e);
        }
        if (tm) {
            __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(tm, src + full), m));
            _mm512_mask_storeu_ps(dst + full, tm, e);
            sv = _mm512_mask_add_ps(sv, tm, sv, e);
        }
        __m512 iz = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sv));
        for (long i = 0; i < full; i += 16) _mm512_storeu_ps(dst + i, _mm512_mul_ps(_mm512_loadu_ps(dst + i), iz));
        if (tm) _mm512_mask_storeu_ps(dst + full, tm, _mm512_mul_ps(_mm512_maskz_loadu_ps(tm, dst + full), iz));
    }
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
