// GELU's per-element arithmetic, shared by the kernels that apply it (elementwise.c, bnact.c) so
// that a fused kernel computes exactly what adv_gelu_forward / adv_gelu_backward do: the same
// expressions, contracted the same way (clang fuses a * b + c within one expression only).
#ifndef ADV_GELU_H
#define ADV_GELU_H
#include <stdint.h>
#include <string.h>

/// e^x: Cephes range reduction x = n ln2 + r (n rounded with the 1.5 * 2^23 trick), degree-6
/// polynomial, 2^n from the exponent bits. Inputs are clamped to [-87.3, 88.7]; NaN stays NaN.
static inline float exp_poly(float x0) {
    float x = x0 > 88.7f ? 88.7f : x0;
    x = x < -87.3f ? -87.3f : x;
    const float magic = 12582912.0f;
    float tt = x * 1.442695040888963f + magic;
    float n = tt - magic;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    int32_t bits;
    memcpy(&bits, &tt, 4);
    int32_t e = ((bits - 0x4B400000) + 127) << 23;
    float scale;
    memcpy(&scale, &e, 4);
    float y = p * scale;
    return x0 != x0 ? x0 : y;
}

/// Phi(x), the standard normal CDF: 0.5 erfc(|x| / sqrt 2) by Abramowitz-Stegun 7.1.26.
static inline float phi(float x) {
    float z = (x < 0 ? -x : x) * 0.7071067811865476f;
    float t = 1.0f / (1.0f + 0.3275911f * z);
    float p = 1.061405429f;
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    float half = 0.5f * p * t * exp_poly(-(z * z));
    return x >= 0 ? 1.0f - half : half;
}

/// x Phi(x), the exact-erf GELU.
static inline float gelu_value(float x) { return x * phi(x); }

/// g d(GELU)/dx at v: g (Phi(v) + v pdf(v)).
static inline float gelu_grad(float g, float v) {
    float pdf = 0.3989422804014327f * exp_poly(-0.5f * v * v);
    return g * (phi(v) + v * pdf);
}

#endif
