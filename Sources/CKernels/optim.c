// Optimizer updates over contiguous parameters (see adv_kernels.h).
#include "adv_kernels.h"
#include "dispatch.h"

// No fused multiply-adds here: the update keeps PyTorch's rounding step by step.
#pragma clang fp contract(off)

ADV_CLONES void adv_adamw(float *p, const float *g, float *m, float *v, long n, float decay, int apply_decay,
                          float w1, float b2, float w2, float bc2_sqrt, float eps, float step) {
    // One pass over the parameters; per element the order is PyTorch's: decay, moments, update.
    // (The apply_decay test is loop-invariant: the compiler hoists it out of the loop.)
    for (long i = 0; i < n; i++) {
        float pi = apply_decay ? p[i] * decay : p[i];
        float gi = g[i];
        float mi = m[i] + w1 * (gi - m[i]);
        float vi = v[i] * b2 + w2 * (gi * gi);
        m[i] = mi;
        v[i] = vi;
        float denom = __builtin_sqrtf(vi) / bc2_sqrt + eps;
        p[i] = pi + (-step) * (mi / denom);
    }
}
