// Gathering a tile of up to 16 pixels of an NCHW map into channels-last rows, and scattering such
// rows back: the data movement of the tiled channel layer norm (Tensor/Ops/ConvMlp.swift,
// `layerNorm2dTiled`), which normalises each pixel's C channels as one row.
//
//   gather:  dst[p * c + ch] = src[ch * ld + p]    (p < m <= 16, ch < c)
//   scatter: dst[ch * ld + p] = src[p * c + ch]
//
// As element-wise loops these read or write with a stride of C or of the plane, one element at a
// time. With AVX-512 (adv_has_avx512) blocks of 16 channels x 16 pixels go through a 16 x 16
// transpose in registers: 16 vector loads (masked to m pixels), 64 shuffles, 16 vector stores.
// Channels past the last whole 16 take the scalar loop. Pure data movement: the same values as
// the loops, bit for bit.
#include "adv_kernels.h"
#include "dispatch.h"

#if ADV_HAVE_AVX512_SOURCE
#include <immintrin.h>

#define ADV_AVX512 __attribute__((target("avx512f")))

/// Transposes the 16 x 16 matrix whose rows are r[0..15], in place (row i becomes column i).
static inline ADV_AVX512 __attribute__((always_inline)) void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    // r[4g + j] now holds, in each 128-bit lane l, column 4l + j of rows 4g..4g+3.
    for (int j = 0; j < 4; j++) {
        t[j] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);       // lanes 0, 2 of rows 0-3 and 4-7
        t[4 + j] = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);   // lanes 1, 3
        t[8 + j] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
        t[12 + j] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
    }
    for (int j = 0; j < 4; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);        // column j
        r[8 + j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xDD);    // column 8 + j
        r[4 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0x88);  // column 4 + j
        r[12 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0xDD); // column 12 + j
    }
}

static ADV_AVX512 long gather_avx512(const float *src, long ld, long c, long m, float *dst) {
    __mmask16 pm = (__mmask16)((1u << m) - 1);
    long ch0 = 0;
    for (; ch0 + 16 <= c; ch0 += 16) {
        __m512 r[16];
        for (int i = 0; i < 16; i++) r[i] = _mm512_maskz_loadu_ps(pm, src + (ch0 + i) * ld);
        transpose16(r);
        for (long p = 0; p < m; p++) _mm512_storeu_ps(dst + p * c + ch0, r[p]);
    }
    return ch0;
}

static ADV_AVX512 long scatter_avx512(const float *src, long c, long m, float *dst, long ld) {
    __mmask16 pm = (__mmask16)((1u << m) - 1);
    long ch0 = 0;
    for (; ch0 + 16 <= c; ch0 += 16) {
        __m512 r[16];
        for (long p = 0; p < 16; p++) r[p] = p < m ? _mm512_loadu_ps(src + p * c + ch0) : _mm512_setzero_ps();
        transpose16(r);
        for (int i = 0; i < 16; i++) _mm512_mask_storeu_ps(dst + (ch0 + i) * ld, pm, r[i]);
    }
    return ch0;
}
#endif

void adv_gather_pixels(const float *src, long ld, long c, long m, float *dst) {
    long ch0 = 0;
#if ADV_HAVE_AVX512_SOURCE
    if (m > 0 && m <= 16 && adv_has_avx512()) ch0 = gather_avx512(src, ld, c, m, dst);
#endif
    for (long ch = ch0; ch < c; ch++)
        for (long p = 0; p < m; p++) dst[p * c + ch] = src[ch * ld + p];
}

void adv_scatter_pixels(const float *src, long c, long m, float *dst, long ld) {
    long ch0 = 0;
#if ADV_HAVE_AVX512_SOURCE
    if (m > 0 && m <= 16 && adv_has_avx512()) ch0 = scatter_avx512(src, c, m, dst, ld);
#endif
    for (long ch = ch0; ch < c; ch++)
        for (long p = 0; p < m; p++) dst[ch * ld + p] = src[p * c + ch];
}
