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
    for (long p = p0; p < p1; p++) {
        const float *src = x + p * h * w;
        float *dst = out + p * ho * wo;
        int *am = arg ? arg + p * ho * wo : NULL;
        for (long oh = 0; oh < ho; oh++) {
            long h0 = oh * s - pad, hs = lmax2(h0, 0), he = lmin2(h0 + k, h);
            for (long ow = 0; ow < wo; ow++) {
                long w0 = ow * s - pad, ws = lmax2(w0, 0), we = lmin2(w0 + k, w);
                float best = -__builtin_inff();
                long bi = -1;
                for (long ih = hs; ih < he; ih++) {
                    const float *row = src + ih * w;
                    for (long iw = ws; iw < we; iw++) {
                        float v = row[iw];
                        // The first maximum in row-major order; a NaN wins (the last one).
                        if (v > best || bi < 0 || v != v) { best = v; bi = ih * w + iw; }
                    }
                }
                dst[oh * wo + ow] = best;
                if (am) am[oh * wo + ow] = (int)bi;
            }
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
