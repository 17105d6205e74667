// Layer norm over contiguous rows, forward and backward (see adv_kernels.h).
#include "adv_kernels.h"
#include "dispatch.h"

ADV_CLONES void adv_layernorm_forward(const float *x, float *out, float *mean, float *rstd, const float *w, const float *b,
                                      long r0, long r1, long d, float eps) {
    for (long r = r0; r < r1; r++) {
        const float *src = x + r * d;
        float *o = out + r * d;
        float *h = o;
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
        if (mean) mean[r] = mu;
        for (j = 0; j < d; j++) h[j] = (src[j] - mu) * rs;
        if (w && b) {
            for (j = 0; j < d; j++) o[j] = h[j] * w[j] + b[j];
        } else if (w) {
            for (j = 0; j < d; j++) o[j] = h[j] * w[j];
        } else if (b) {
            for (j = 0; j < d; j++) o[j] = h[j] + b[j];
        }
    }
}

ADV_CLONES void adv_layernorm_backward(const float *g, const float *x, const float *mean, const float *rstd,
                                       const float *w, float *gx, float *gw, float *gb, float *h, long r0, long r1, long d) {
    for (long r = r0; r < r1; r++) {
        const float *gr = g + r * d, *src = x + r * d;
        // xhat of this row again, exactly as the forward computed it (the forward keeps only
        // mean and rstd, as PyTorch's layer norm does).
        const float mu = mean[r], rsr = rstd[r];
        for (long j = 0; j < d; j++) h[j] = (src[j] - mu) * rsr;
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

/// sum(p[j]) over n floats, 16 lanes at a time.
static inline float plane_sum(const float *p, long n) {
    v16 s = v16_splat(0);
    long j = 0;
    for (; j + 16 <= n; j += 16) s += v16_load(p + j);
    float t = v16_sum(s);
    for (; j < n; j++) t += p[j];
    return t;
}

/// sum((p[j] - mu)^2) over n floats.
static inline float plane_sq_dev(const float *p, long n, float mu) {
    v16 s = v16_splat(0), m = v16_splat(mu);
    long j = 0;
    for (; j + 16 <= n; j += 16) { v16 d = v16_load(p + j) - m; s += d * d; }
    float t = v16_sum(s);
    for (; j < n; j++) { float d = p[j] - mu; t += d * d; }
    return t;
}

/// sum(g[j] * (x[j] - mu)) over n floats.
static inline float plane_dot_dev(const float *g, const float *x, long n, float mu) {
    v16 s = v16_splat(0), m = v16_splat(mu);
    long j = 0;
    for (; j + 16 <= n; j += 16) s += v16_load(g + j) * (v16_load(x + j) - m);
    float t = v16_sum(s);
    for (; j < n; j++) t += g[j] * (x[j] - mu);
    return t;
}

ADV_CLONES void adv_bn_stats(const float *x, long n, long c, long hw, long c0, long c1, float *mean, float *var) {
    for (long ch = c0; ch < c1; ch++) {
        double s = 0;
        for (long i = 0; i < n; i++) {
            s += plane_sum(x + (i * c + ch) * hw, hw);
        }
        double m = (double)n * (double)hw;
        float mu = (float)(s / m);
        double v = 0;
        for (long i = 0; i < n; i++) {
            v += plane_sq_dev(x + (i * c + ch) * hw, hw, mu);
        }
        mean[ch] = mu;
        var[ch] = (float)(v / m);
    }
}

ADV_CLONES void adv_bn_apply(const float *x, float *out, long c, long hw, long p0, long p1, const float *scale, const float *shift) {
    for (long p = p0; p < p1; p++) {
        long ch = p % c;
        float a = scale[ch], b = shift[ch];
        const float *src = x + p * hw;
        float *dst = out + p * hw;
        for (long j = 0; j < hw; j++) dst[j] = src[j] * a + b;
    }
}

ADV_CLONES void adv_bn_grad_sums(const float *g, const float *x, const float *mean, long n, long c, long hw, long c0, long c1,
                                 float *sum_g, float *sum_gx) {
    for (long ch = c0; ch < c1; ch++) {
        double s1 = 0, s2 = 0;
        float mu = mean[ch];
        for (long i = 0; i < n; i++) {
            const float *gr = g + (i * c + ch) * hw, *xr = x + (i * c + ch) * hw;
            s1 += plane_sum(gr, hw);
            s2 += plane_dot_dev(gr, xr, hw, mu);
        }
        sum_g[ch] = (float)s1;
        sum_gx[ch] = (float)s2;
    }
}

ADV_CLONES void adv_bn_input_grad(const float *g, const float *x, float *dx, long c, long hw, long p0, long p1,
                                  const float *a, const float *b, const float *d) {
    for (long p = p0; p < p1; p++) {
        long ch = p % c;
        float ka = a[ch], kb = b[ch], kd = d[ch];
        const float *gr = g + p * hw, *xr = x + p * hw;
        float *dr = dx + p * hw;
        for (long j = 0; j < hw; j++) dr[j] = ka * gr[j] + kb * xr[j] + kd;
    }
}
