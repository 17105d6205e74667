// PoolFormer's token mixer with its layer scale and residual in one pass (see adv_kernels.h):
// out = x + s * (avgpool3x3(n) - n), the pool with stride 1, padding 1 and count_include_pad=False
// (each output divided by the number of in-image pixels of its window), s = scale[channel] times
// an optional per-sample factor (drop path). The backward reads the output gradient and n once.
//
// The 3x3 window sum is separable: a row of vertical sums (three input rows) in a buffer with a
// zero on each side, then three neighbouring entries of that row. The divisor of output (i, j) is
// rh(i) * rw(j) with rh = 3 inside and 2 on the first and last row (1 when h == 1), the same for rw.
#include "adv_kernels.h"
#include "dispatch.h"

long adv_poolmix_scratch(long w) { return 7 * (w + 2); }

/// dst[j] = r0[j] + r1[j] + r2[j], with r0 or r2 NULL when that row is outside the plane.
static inline void sum3(const float *r0, const float *r1, const float *r2, long w, float *dst) {
    if (r0 && r2) {
        for (long j = 0; j < w; j++) dst[j] = (r0[j] + r1[j]) + r2[j];
    } else if (r0) {
        for (long j = 0; j < w; j++) dst[j] = r0[j] + r1[j];
    } else if (r2) {
        for (long j = 0; j < w; j++) dst[j] = r1[j] + r2[j];
    } else {
        for (long j = 0; j < w; j++) dst[j] = r1[j];
    }
}

/// dst[j] = the vertical sum of rows i-1, i, i+1 of plane p (h, w), rows outside the plane left out.
static inline void vsum(const float *p, long h, long w, long i, float *dst) {
    const float *r1 = p + i * w;
    sum3(i > 0 ? r1 - w : 0, r1, i + 1 < h ? r1 + w : 0, w, dst);
}

/// Rows of the window of row i: 3 inside, 2 on the first and last row, 1 when h == 1.
static inline long span(long i, long h) { return 1 + (i > 0) + (i + 1 < h); }

/// pooled[j] = (v[j-1] + v[j] + v[j+1]) / (rh * rw(j)) for one row, v padded with a zero on each side.
static inline void hsum(const float *v, long w, long rh, float *pooled) {
    float mid = 1.0f / (float)(rh * 3), edge = 1.0f / (float)(rh * (w > 1 ? 2 : 1));
    for (long j = 0; j < w; j++) pooled[j] = ((v[j - 1] + v[j]) + v[j + 1]) * mid;
    pooled[0] = ((v[-1] + v[0]) + v[1]) * edge;
    if (w > 1) pooled[w - 1] = ((v[w - 2] + v[w - 1]) + v[w]) * edge;
}

ADV_CLONES void adv_poolmix_forward(const float *x, const float *n, const float *scale, const float *sample_scale,
                                    float *out, long c, long h, long w, long p0, long p1, float *scratch) {
    long hw = h * w;
    float *v = scratch + 1, *pooled = scratch + (w + 2);
    v[-1] = 0;
    v[w] = 0;
    for (long p = p0; p < p1; p++) {
        float s = scale[p % c] * (sample_scale ? sample_scale[p / c] : 1.0f);
        const float *np = n + p * hw, *xp = x + p * hw;
        float *op = out + p * hw;
        for (long i = 0; i < h; i++) {
            vsum(np, h, w, i, v);
            hsum(v, w, span(i, h), pooled);
            const float *nr = np + i * w, *xr = xp + i * w;
            float *orow = op + i * w;
            for (long j = 0; j < w; j++) orow[j] = xr[j] + s * (pooled[j] - nr[j]);
        }
    }
}

/// row[j] = g[j] / (rh(r) * rw(j)) for row r of a plane's output gradient: what each output
/// spreads over its window in the pool's adjoint.
static inline void divided(const float *gp, long h, long w, long r, float *row) {
    long rh = span(r, h);
    float mid = 1.0f / (float)(rh * 3), edge = 1.0f / (float)(rh * (w > 1 ? 2 : 1));
    const float *gr = gp + r * w;
    for (long j = 0; j < w; j++) row[j] = gr[j] * mid;
    row[0] = gr[0] * edge;
    if (w > 1) row[w - 1] = gr[w - 1] * edge;
}

ADV_CLONES void adv_poolmix_backward(const float *g, const float *n, const float *scale, const float *sample_scale,
                                     float *gn, float *gs, long c, long h, long w, long p0, long p1, float *scratch) {
    long hw = h * w;
    // v: vertical sums of n and t: of the divided gradient (each padded with a zero on both sides);
    // pooled: one row of the pool of n; acc: per-column sums of g * (pooled - n) over the plane;
    // ring: the divided gradient of rows i - 1, i, i + 1 (row r in slot r % 3).
    float *v = scratch + 1, *t = scratch + (w + 2) + 1, *pooled = scratch + 2 * (w + 2);
    float *acc = scratch + 3 * (w + 2), *ring = scratch + 4 * (w + 2);
    v[-1] = v[w] = t[-1] = t[w] = 0;
    for (long p = p0; p < p1; p++) {
        float k = sample_scale ? sample_scale[p / c] : 1.0f, s = scale[p % c] * k;
        const float *np = n + p * hw, *gp = g + p * hw;
        for (long j = 0; j < w; j++) acc[j] = 0;
        if (gn) {
            divided(gp, h, w, 0, ring);
            if (h > 1) divided(gp, h, w, 1, ring + w);
        }
        for (long i = 0; i < h; i++) {
            const float *nr = np + i * w, *gr = gp + i * w;
            if (gs) {
                // the scale's gradient: g * (pool(n) - n), summed per column, then over the plane
                vsum(np, h, w, i, v);
                hsum(v, w, span(i, h), pooled);
                for (long j = 0; j < w; j++) acc[j] += gr[j] * (pooled[j] - nr[j]);
            }
            if (!gn) continue;
            // n's gradient: s * (the divided gradient summed over each 3x3 neighbourhood - g)
            if (i >= 1 && i + 1 < h) divided(gp, h, w, i + 1, ring + ((i + 1) % 3) * w);
            const float *u1 = ring + (i % 3) * w;
            const float *u0 = i > 0 ? ring + ((i - 1) % 3) * w : 0, *u2 = i + 1 < h ? ring + ((i + 1) % 3) * w : 0;
            sum3(u0, u1, u2, w, t);
            float *dr = gn + p * hw + i * w;
            for (long j = 0; j < w; j++) dr[j] = s * (((t[j - 1] + t[j]) + t[j + 1]) - gr[j]);
        }
        if (gs) {
            float sum = 0;
            for (long j = 0; j < w; j++) sum += acc[j];
            gs[p] = sum * k;
        }
    }
}
