// Group norm over planes with per-plane coefficients (see adv_kernels.h): the apply pass of the
// forward and the input gradient of the backward. The statistics are per-plane sums from norm.c
// (adv_bn_stats, adv_bn_grad_sums over the planes as if each were a channel), combined per group
// by the caller, so nothing here depends on how planes are split over threads.
#include "adv_kernels.h"
#include "dispatch.h"

ADV_CLONES void adv_gn_apply(const float *x, float *out, long hw, long p0, long p1, const float *center,
                             const float *scale, const float *shift) {
    for (long p = p0; p < p1; p++) {
        float m = center[p], a = scale[p], b = shift[p];
        const float *src = x + p * hw;
        float *dst = out + p * hw;
        for (long j = 0; j < hw; j++) dst[j] = (src[j] - m) * a + b;
    }
}

ADV_CLONES void adv_gn_input_grad(const float *g, const float *x, float *dx, long hw, long p0, long p1, const float *center,
                                  const float *a, const float *b, const float *d) {
    for (long p = p0; p < p1; p++) {
        float m = center[p], ka = a[p], kb = b[p], kd = d[p];
        const float *gr = g + p * hw, *xr = x + p * hw;
        float *dr = dx + p * hw;
        for (long j = 0; j < hw; j++) dr[j] = ka * gr[j] + kb * (xr[j] - m) + kd;
    }
}
