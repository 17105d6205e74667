// Average and max pooling over (h, w) planes, forward and backward (see adv_kernels.h). Each
// output's window is clipped to the image once per row and column, so the average's inner loops
// have no branches.
#include "adv_kernels.h"
#include "dispatch.h"

static inline long lmax2(long a, long b) { return a > b ? a : b; }
static inline long lmin2(long a, long b) { return a < b ? a : b; }

ADV_CLONES void adv_avgpool_forward(const float *x, float *out, long p0, long p1, long h, long w, long ho, long wo,
                                    long k, long s, long pad, const float *inv_count) {
    for (long p = p0; p < p1; p++) {
        const float *src = x + p * h * w;
        float *dst = out + p * ho * wo;
        for (long oh = 0; oh < ho; oh++) {
            long h0 = oh * s - pad, hs = lmax2(h0, 0), he = lmin2(h0 + k, h);
            for (long ow = 0; ow < wo; ow++) {
                long w0 = ow * s - pad, ws = lmax2(w0, 0), we = lmin2(w0 + k, w);
                float acc = 0;
                for (long ih = hs; ih < he; ih++) {
                    const float *row = src + ih * w;
                    for (long iw = ws; iw < we; iw++) acc += row[iw];
                }
                dst[oh * wo + ow] = acc * inv_count[oh * wo + ow];
            }
        }
    }
}

ADV_CLONES void adv_avgpool_backward(const float *g, float *gx, long p0, long p1, long h, long w, long ho, long wo,
                                     long k, long s, long pad, const float *inv_count) {
    for (long p = p0; p < p1; p++) {
        const float *src = g + p * ho * wo;
        float *dst = gx + p * h * w;
        for (long oh = 0; oh < ho; oh++) {
            long h0 = oh * s - pad, hs = lmax2(h0, 0), he = lmin2(h0 + k, h);
            for (long ow = 0; ow < wo; ow++) {
                long w0 = ow * s - pad, ws = lmax2(w0, 0), we = lmin2(w0 + k, w);
                float v = src[oh * wo + ow] * inv_count[oh * wo + ow];
                for (long ih = hs; ih < he; ih++) {
                    float *row = dst + ih * w;
                    for (long iw = ws; iw < we; iw++) row[iw] += v;
                }
            }
        }
    }
}

ADV_CLONES void adv_maxpool_forward(const float *x, float *out, int *arg, long p0, long p1, long h, long w, long ho,
                                    long wo, long k, long s, long pad) {
    // One output row at a time, taps in row-major order (ih, then iw) as the outer loops and the
    // outputs of the row inside: each output sees its window's values in the same order as a
    // per-window loop, and the selects below have no branches to mispredict.
    int bis[wo > 0 ? wo : 1];
    for (long p = p0; p < p1; p++) {
        const float *src = x + p * h * w;
        float *dst = out + p * ho * wo;
        int *am = arg ? arg + p * ho * wo : NULL;
        for (long oh = 0; oh < ho; oh++) {
            long h0 = oh * s - pad, hs = lmax2(h0, 0), he = lmin2(h0 + k, h);
            float *best = dst + oh * wo;
            for (long ow = 0; ow < wo; ow++) { best[ow] = -__builtin_inff(); bis[ow] = -1; }
            for (long ih = hs; ih < he; ih++) {
                const float *row = src + ih * w;
                for (long kw = 0; kw < k; kw++) {
                    // Outputs whose column ow * s - pad + kw lies inside the row.
                    long lo = lmax2(0, (pad - kw + s - 1) / s);
                    long hi = w - 1 + pad - kw < 0 ? 0 : lmin2(wo, (w - 1 + pad - kw) / s + 1);
                    for (long ow = lo; ow < hi; ow++) {
                        long iw = ow * s - pad + kw;
                        float v = row[iw];
                        // The first maximum in row-major order; a NaN wins (the last one).
                        int take = (v > best[ow]) | (bis[ow] < 0) | (v != v);
                        best[ow] = take ? v : best[ow];
                        bis[ow] = take ? (int)(ih * w + iw) : bis[ow];
                    }
                }
            }
            if (am) for (long ow = 0; ow < wo; ow++) am[oh * wo + ow] = bis[ow];
        }
    }
}

ADV_CLONES void adv_maxpool_backward(const float *g, const int *arg, float *gx, long p0, long p1, long hw, long howo) {
    for (long p = p0; p < p1; p++) {
        const float *src = g + p * howo;
        const int *am = arg + p * howo;
        float *dst = gx + p * hw;
        for (long q = 0; q < howo; q++) {
            if (am[q] >= 0) dst[am[q]] += src[q];
        }
    }
}
