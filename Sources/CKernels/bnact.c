// Batch norm's affine pass fused with what follows it in a ResNet block (docs/architecture.md,
// "Memory"): y = act(x * scale[ch] + shift[ch] (+ r)), one pass instead of two or three, and
// the activation's backward from x (and r) without the intermediate: gt = g act'(t) with t
// recomputed. Per element these are the operations of adv_bn_apply, then the residual add (t + r,
// as Tensor.add), then adv_gelu_forward or ReLU, in that order and contracted the same way, so
// the values are those of the separate ops bit for bit (gelu.h).
#include "adv_kernels.h"
#include "dispatch.h"
#include "gelu.h"

// t = x * a + b (adv_bn_apply's expression), then + r where there is a residual.
#define BN_T(j) (src[j] * a + b)

ADV_CLONES void adv_bn_act_forward(const float *x, const float *r, float *y, long c, long hw, long p0, long p1,
                                   const float *scale, const float *shift, int act) {
    for (long p = p0; p < p1; p++) {
        long ch = p % c;
        float a = scale[ch], b = shift[ch];
        const float *src = x + p * hw;
        const float *res = r ? r + p * hw : NULL;
        float *dst = y + p * hw;
        // One loop per case, so each stays branch-free and vectorises.
        if (act == ADV_ACT_GELU && res) {
            for (long j = 0; j < hw; j++) { float t = BN_T(j); t = t + res[j]; dst[j] = gelu_value(t); }
        } else if (act == ADV_ACT_GELU) {
            for (long j = 0; j < hw; j++) { float t = BN_T(j); dst[j] = gelu_value(t); }
        } else if (res) {
            for (long j = 0; j < hw; j++) { float t = BN_T(j); t = t + res[j]; dst[j] = t > 0 ? t : 0.0f; }
        } else {
            for (long j = 0; j < hw; j++) { float t = BN_T(j); dst[j] = t > 0 ? t : 0.0f; }
        }
    }
}

// One plane of the backward: gt = g act'(t) (when gt is not NULL) and dx = k gt + 0 (when dx is
// not NULL: evaluation's input gradient, adv_bn_input_grad's a g + b x + d with b = d = 0, whose
// result for finite x is k gt + 0 bit for bit, the + 0 included: it turns -0 into +0 as that did).
#define BN_ACT_BWD_LOOP(GRAD) do { \
        if (gt && dx) { for (long j = 0; j < hw; j++) { float v = GRAD; dst[j] = v; dxr[j] = k * v + 0.0f; } } \
        else if (dx) { for (long j = 0; j < hw; j++) { float v = GRAD; dxr[j] = k * v + 0.0f; } } \
        else { for (long j = 0; j < hw; j++) { float v = GRAD; dst[j] = v; } } \
    } while (0)

ADV_CLONES void adv_bn_act_backward(const float *g, const float *x, const float *r, float *gt, float *dx, const float *kdx,
                                    long c, long hw, long p0, long p1, const float *scale, const float *shift, int act) {
    for (long p = p0; p < p1; p++) {
        long ch = p % c;
        float a = scale[ch], b = shift[ch], k = dx ? kdx[ch] : 0;
        const float *src = x + p * hw, *gr = g + p * hw;
        const float *res = r ? r + p * hw : NULL;
        float *dst = gt ? gt + p * hw : NULL, *dxr = dx ? dx + p * hw : NULL;
        if (act == ADV_ACT_GELU && res) {
            BN_ACT_BWD_LOOP(gelu_grad(gr[j], BN_T(j) + res[j]));
        } else if (act == ADV_ACT_GELU) {
            BN_ACT_BWD_LOOP(gelu_grad(gr[j], BN_T(j)));
        } else if (res) {
            BN_ACT_BWD_LOOP(BN_T(j) + res[j] > 0 ? gr[j] : 0.0f);
        } else {
            BN_ACT_BWD_LOOP(BN_T(j) > 0 ? gr[j] : 0.0f);
        }
    }
}
