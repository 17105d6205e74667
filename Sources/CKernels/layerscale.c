// A layer-scaled residual in one pass (see adv_kernels.h): out = x + s * y with s = scale[channel]
// times an optional per-sample factor (drop path), over planes of NCHW maps; its backward writes
// y's gradient s * g and the per-plane sums of g * y that the scale's gradient adds up. The
// channels-last variant reads y as (N, HW, C) (ConvNeXt's MLP output before its permute back),
// transposing 16 x 16 tiles through a local buffer; the packed variant reads y in the 1x1
// convolutions' packed layout (C, N * HW) of ConvNeXt's conv_mlp branch (Tensor/Ops/ConvMlp.swift).
#include "adv_kernels.h"
#include "dispatch.h"

/// sum over j of g[j] y[j], 16 lanes at a time (the layer scale's gradient per plane).
static inline float plane_dot(const float *g, const float *y, long hw) {
    v16 acc = v16_splat(0);
    long j = 0;
    for (; j + 16 <= hw; j += 16) acc += v16_load(g + j) * v16_load(y + j);
    float sum = v16_sum(acc);
    for (; j < hw; j++) sum += g[j] * y[j];
    return sum;
}

ADV_CLONES void adv_scale_residual_forward(const float *x, const float *y, const float *scale, const float *sample_scale,
                                           float *out, long c, long hw, long p0, long p1) {
    for (long p = p0; p < p1; p++) {
        float s = scale[p % c] * (sample_scale ? sample_scale[p / c] : 1.0f);
        const float *xp = x + p * hw, *yp = y + p * hw;
        float *op = out + p * hw;
        for (long j = 0; j < hw; j++) op[j] = xp[j] + s * yp[j];
    }
}

ADV_CLONES void adv_scale_residual_backward(const float *g, const float *y, const float *scale, const float *sample_scale,
                                            float *gy, float *gs, long c, long hw, long p0, long p1) {
    for (long p = p0; p < p1; p++) {
        float k = sample_scale ? sample_scale[p / c] : 1.0f, s = scale[p % c] * k;
        const float *gp = g + p * hw, *yp = y + p * hw;
        if (gy) {
            float *dp = gy + p * hw;
            for (long j = 0; j < hw; j++) dp[j] = s * gp[j];
        }
        if (gs) gs[p] = plane_dot(gp, yp, hw) * k;
    }
}

enum { TILE = 16 };

ADV_CLONES void adv_scale_residual_cl_forward(const float *x, const float *y, const float *scale, const float *sample_scale,
                                              float *out, long c, long hw, long u0, long u1) {
    long cb = (c + TILE - 1) / TILE;
    float t[TILE][TILE];
    for (long u = u0; u < u1; u++) {
        long n = u / cb, c0 = (u % cb) * TILE, cn = c - c0 < TILE ? c - c0 : TILE;
        float k = sample_scale ? sample_scale[n] : 1.0f;
        const float *yn = y + n * hw * c;
        for (long p0 = 0; p0 < hw; p0 += TILE) {
            long pn = hw - p0 < TILE ? hw - p0 : TILE;
            for (long pp = 0; pp < pn; pp++)
                for (long cc = 0; cc < cn; cc++) t[cc][pp] = yn[(p0 + pp) * c + c0 + cc];
            for (long cc = 0; cc < cn; cc++) {
                float s = scale[c0 + cc] * k;
                long row = (n * c + c0 + cc) * hw + p0;
                for (long pp = 0; pp < pn; pp++) out[row + pp] = x[row + pp] + s * t[cc][pp];
            }
        }
    }
}

ADV_CLONES void adv_scale_residual_cl_backward(const float *g, const float *y, const float *scale, const float *sample_scale,
                                               float *gy, float *gs, long c, long hw, long u0, long u1) {
    long cb = (c + TILE - 1) / TILE;
    float t[TILE][TILE], acc[TILE][TILE];
    for (long u = u0; u < u1; u++) {
        long n = u / cb, c0 = (u % cb) * TILE, cn = c - c0 < TILE ? c - c0 : TILE;
        float k = sample_scale ? sample_scale[n] : 1.0f;
        const float *yn = y + n * hw * c;
        float *gyn = gy ? gy + n * hw * c : 0;
        memset(acc, 0, sizeof acc);
        for (long p0 = 0; p0 < hw; p0 += TILE) {
            long pn = hw - p0 < TILE ? hw - p0 : TILE;
            // t[pp][cc] = g(n, c0 + cc, p0 + pp)
            for (long cc = 0; cc < cn; cc++) {
                const float *gr = g + (n * c + c0 + cc) * hw + p0;
                for (long pp = 0; pp < pn; pp++) t[pp][cc] = gr[pp];
            }
            for (long pp = 0; pp < pn; pp++) {
                const float *yr = yn + (p0 + pp) * c + c0;
                if (gyn) {
                    float *dr = gyn + (p0 + pp) * c + c0;
                    for (long cc = 0; cc < cn; cc++) dr[cc] = scale[c0 + cc] * k * t[pp][cc];
                }
                if (gs) for (long cc = 0; cc < cn; cc++) acc[pp][cc] += t[pp][cc] * yr[cc];
            }
        }
        if (gs) {
            for (long cc = 0; cc < cn; cc++) {
                float sum = 0;
                for (long pp = 0; pp < TILE; pp++) sum += acc[pp][cc];
                gs[n * c + c0 + cc] = sum * k;
            }
        }
    }
}

// The same two passes with the branch in the packed layout (C, N * hw) of ConvNeXt's conv_mlp
// (Tensor/Ops/ConvMlp.swift): plane (n, c) of y is the hw floats at (c * N + n) * hw; the
// arithmetic per element is that of adv_scale_residual_forward/backward, expression for expression.
ADV_CLONES void adv_scale_residual_packed_forward(const float *x, const float *y, const float *scale, const float *sample_scale,
                                                  float *out, long n, long c, long hw, long p0, long p1) {
    for (long p = p0; p < p1; p++) {
        float s = scale[p % c] * (sample_scale ? sample_scale[p / c] : 1.0f);
        const float *xp = x + p * hw, *yp = y + ((p % c) * n + p / c) * hw;
        float *op = out + p * hw;
        for (long j = 0; j < hw; j++) op[j] = xp[j] + s * yp[j];
    }
}

ADV_CLONES void adv_scale_residual_packed_backward(const float *g, const float *y, const float *scale, const float *sample_scale,
                                                   float *gy, float *gs, long n, long c, long hw, long p0, long p1) {
    for (long p = p0; p < p1; p++) {
        float k = sample_scale ? sample_scale[p / c] : 1.0f, s = scale[p % c] * k;
        long q = ((p % c) * n + p / c) * hw;
        const float *gp = g + p * hw, *yp = y + q;
        if (gy) {
            float *dp = gy + q;
            for (long j = 0; j < hw; j++) dp[j] = s * gp[j];
        }
        if (gs) gs[p] = plane_dot(gp, yp, hw) * k;
    }
}
