// Layer norm over contiguous rows, forward and backward (see adv_kernels.h).
#include "adv_kernels.h"
#include "dispatch.h"

ADV_CLONES void adv_layernorm_forward(const float *x, float *out, float *xhat, float *rstd, const float *w, const float *b,
                                      long r0, long r1, long d, float eps) {
    for (long r = r0; r < r1; r++) {
        const float *src = x + r * d;
        float *o = out + r * d;
        float *h = xhat ? xhat + r * d : o;
        long j = 0;
        v16 s = v16_splat(0);
        for (; j + 16 <= d; j += 16) s += v16_load(src + j);
        float mu = v16_sum(s);
        for (; j < d; j++) mu += src[j];
        mu /= (float)d;
        v16 q = v16_splat(0);
        v16 muv = v16_splat(mu);
        for (j = 0; j + 16 <= d; j += 16) { v16 t = v16_load(src + j) - muv; q += t * t; }
        float var = v16_sum(q);
        for (; j < d; j++) { float t = src[j] - mu; var += t * t; }
        float rs = 1.0f / __builtin_sqrtf(var / (float)d + eps);
        rstd[r] = rs;
        for (j = 0; j < d; j++) h[j] = (src[j] - mu) * rs;
        if (w && b) {
            for (j = 0; j < d; j++) o[j] = h[j] * w[j] + b[j];
        } else if (w) {
            for (j = 0; j < d; j++) o[j] = h[j] * w[j];
        } else if (b) {
            for (j = 0; j < d; j++) o[j] = h[j] + b[j];
        } else if (h != o) {
            memcpy(o, h, (size_t)d * sizeof(float));
        }
    }
}

ADV_CLONES void adv_layernorm_backward(const float *g, const float *xhat, const float *rstd, const float *w, float *gx,
                                       float *gw, float *gb, long r0, long r1, long d) {
    for (long r = r0; r < r1; r++) {
        const float *gr = g + r * d, *h = xhat + r * d;
        if (gw) for (long j = 0; j < d; j++) gw[j] += gr[j] * h[j];
        if (gb) for (long j = 0; j < d; j++) gb[j] += gr[j];
        if (!gx) continue;
        // gh = g * w; dx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat))
        v16 s1 = v16_splat(0), s2 = v16_splat(0);
        long j = 0;
        if (w) {
            for (; j + 16 <= d; j += 16) {
                v16 gh = v16_load(gr + j) * v16_load(w + j);
                s1 += gh;
                s2 += gh * v16_load(h + j);
            }
        } else {
            for (; j + 16 <= d; j += 16) {
                v16 gh = v16_load(gr + j);
                s1 += gh;
                s2 += gh * v16_load(h + j);
            }
        }
        float m1 = v16_sum(s1), m2 = v16_sum(s2);
        for (; j < d; j++) {
            float gh = w ? gr[j] * w[j] : gr[j];
            m1 += gh;
            m2 += gh * h[j];
        }
        m1 /= (float)d;
        m2 /= (float)d;
        float rs = rstd[r];
        float *dr = gx + r * d;
        if (w) {
            for (j = 0; j < d; j++) dr[j] = rs * (gr[j] * w[j] - m1 - h[j] * m2);
        } else {
            for (j = 0; j < d; j++) dr[j] = rs * (gr[j] - m1 - h[j] * m2);
        }
    }
}
