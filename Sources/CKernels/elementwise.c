// GELU, softmax and bf16 rounding over contiguous floats. Scalar code written so that clang
// vectorises every loop (no branches in the loop bodies: selects only); see adv_kernels.h for the
// contract.
#include "adv_kernels.h"
#include "dispatch.h"
#include "gelu.h"

ADV_CLONES void adv_gelu_forward(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = gelu_value(x[i]);
}

ADV_CLONES void adv_gelu_backward(const float *g, const float *x, float *dx, long n) {
    for (long i = 0; i < n; i++) dx[i] = gelu_grad(g[i], x[i]);
}

/// Max of n floats (NaNs are skipped here; they still propagate through exp).
static inline float row_max(const float *x, long n) {
    long i = 0;
    float m = -__builtin_inff();
    if (n >= 16) {
        v16 mv = v16_load(x);
        for (i = 16; i + 16 <= n; i += 16) mv = __builtin_elementwise_max(mv, v16_load(x + i));
        for (int q = 0; q < 16; q++) m = mv[q] > m ? mv[q] : m;
    }
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

static inline float row_sum(const float *x, long n) {
    long i = 0;
    v16 s = v16_splat(0);
    for (; i + 16 <= n; i += 16) s += v16_load(x + i);
    float t = v16_sum(s);
    for (; i < n; i++) t += x[i];
    return t;
}

static inline float row_dot(const float *a, const float *b, long n) {
    long i = 0;
    v16 s = v16_splat(0);
    for (; i + 16 <= n; i += 16) s += v16_load(a + i) * v16_load(b + i);
    float t = v16_sum(s);
    for (; i < n; i++) t += a[i] * b[i];
    return t;
}

static ADV_CLONES void softmax_rows_portable(const float *x, float *y, long rows, long n) {
    for (long r = 0; r < rows; r++) {
        const float *src = x + r * n;
        float *dst = y + r * n;
        float m = row_max(src, n);
        for (long i = 0; i < n; i++) dst[i] = exp_poly(src[i] - m);
        float iz = 1.0f / row_sum(dst, n);
        for (long i = 0; i < n; i++) dst[i] *= iz;
    }
}

static ADV_CLONES void softmax_rows_backward_portable(const float *g, const float *y, float *dx, long rows, long n) {
    for (long r = 0; r < rows; r++) {
        const float *gr = g + r * n, *yr = y + r * n;
        float *d = dx + r * n;
        float s = row_dot(gr, yr, n);
        for (long i = 0; i < n; i++) d[i] = yr[i] * (gr[i] - s);
    }
}

void adv_softmax_rows(const float *x, float *y, long rows, long n) {
#if ADV_HAVE_AVX512_SOURCE
    if (adv_has_avx512()) { adv_softmax_rows_avx512(x, y, rows, n); return; }
#endif
    softmax_rows_portable(x, y, rows, n);
}

void adv_softmax_rows_backward(const float *g, const float *y, float *dx, long rows, long n) {
#if ADV_HAVE_AVX512_SOURCE
    if (adv_has_avx512()) { adv_softmax_rows_backward_avx512(g, y, dx, rows, n); return; }
#endif
    softmax_rows_backward_portable(g, y, dx, rows, n);
}

ADV_CLONES void adv_round_bf16(const float *src, float *dst, long n) {
    const uint32_t *s = (const uint32_t *)src;
    uint32_t *d = (uint32_t *)dst;
    for (long i = 0; i < n; i++) {
        uint32_t b = s[i];
        uint32_t r = (b + 0x7FFFu + ((b >> 16) & 1u)) & 0xFFFF0000u;
        // NaN (exponent all ones, mantissa non-zero) stays NaN, quieted.
        int nan = (b & 0x7F800000u) == 0x7F800000u && (b & 0x007FFFFFu) != 0;
        d[i] = nan ? (b | 0x00400000u) : r;
    }
}
