// FAB's L-inf projection and the coordinate order both FAB projections walk (see adv_kernels.h;
// the method is described in Sources/Engine/Attacks/FABProjections.swift and docs/attacks.md).
//
// A C port of the Swift loops that did this, operation for operation: the same sums in the same
// order, no fused multiply-adds (contraction is off below), the same Swift min/max tie rules,
// so FAB-T's outputs are bit for bit those of the Swift code (BENCHMARKS.md, issue 19). The
// Swift loops allocated three arrays per row and sorted with bounds-checked array code; both
// projections of every image and step go through here (two rows of D coordinates each).
#include "adv_kernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

/// Swift's min(x, y) (y < x ? y : x) and max(x, y) (y >= x ? y : x), NaN and signed-zero rules included.
static inline float swift_min(float x, float y) { return y < x ? y : x; }
static inline float swift_max(float x, float y) { return y >= x ? y : x; }

void adv_fab_order(const float *v, long n, int descending, int32_t *idx, uint32_t *keys, int32_t *tmp) {
    for (long i = 0; i < n; i++) {
        float z = v[i] + 0.0f;  // -0 becomes +0 (they compare equal)
        uint32_t bits;
        memcpy(&bits, &z, sizeof bits);
        uint32_t k = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
        keys[i] = descending ? ~k : k;
        idx[i] = (int32_t)i;
    }
    long count[257];
    for (int shift = 0; shift < 32; shift += 8) {
        memset(count, 0, sizeof count);
        for (long i = 0; i < n; i++) count[((keys[i] >> shift) & 255) + 1]++;
        int same = 0;
        for (int b = 1; b < 257; b++) if (count[b] == n) { same = 1; break; }
        if (same) continue;  // every key has the same byte here
        for (int b = 1; b < 257; b++) count[b] += count[b - 1];
        for (long j = 0; j < n; j++) {
            int32_t i = idx[j];
            tmp[count[(keys[i] >> shift) & 255]++] = i;
        }
        memcpy(idx, tmp, (size_t)n * sizeof *idx);
    }
}

void adv_fab_linf(const float *t, const float *w0, float b0, long dim, float *d, float *scratch) {
    float *p = scratch, *aw = scratch + dim;
    uint32_t *keys = (uint32_t *)(scratch + 2 * dim);
    int32_t *order = (int32_t *)(scratch + 3 * dim), *tmp = (int32_t *)(scratch + 4 * dim);
    // Orient so that the point lies on the positive side: w . t - b >= 0, we must lower w . x.
    float dot = 0;
    for (long i = 0; i < dim; i++) dot += w0[i] * t[i];
    float sign = dot - b0 >= 0 ? 1.0f : -1.0f;
    float reach = 0;  // w . d at full box moves (<= 0)
    for (long i = 0; i < dim; i++) {
        float w = w0[i] * sign;
        aw[i] = fabsf(w);
        if (w < 0) { p[i] = 1 - t[i]; d[i] = 1 - t[i]; }
        else { p[i] = t[i]; d[i] = w != 0 ? -t[i] : 0; }
        reach += w * d[i];
    }
    float need = sign * b0 - sign * dot;  // required change of w . x (<= 0)
    if (!(need - reach > 0)) return;      // not reachable inside the box: the corner
    // Coordinates by room, largest first; lambda in [p_(k+1), p_(k)] leaves 0...k unsaturated.
    adv_fab_order(p, dim, 1, order, keys, tmp);
    float saturated = 0;  // sum of |w| p over the saturated coordinates (k+1...)
    for (long i = 0; i < dim; i++) saturated += aw[i] * p[i];
    float freew = 0, lambda = 0;
    for (long k = 0; k < dim; k++) {
        long i = order[k];
        freew += aw[i];
        saturated -= aw[i] * p[i];
        float next = k + 1 < dim ? p[order[k + 1]] : 0;
        // at lambda = next the change is -(free * next + saturated)
        if (-(freew * next + saturated) >= need || k + 1 == dim) {
            lambda = freew > 0 ? swift_max((-need - saturated) / freew, 0) : 0;
            break;
        }
    }
    for (long i = 0; i < dim; i++) {
        if (aw[i] == 0) continue;
        float w = w0[i] * sign;
        d[i] = w < 0 ? swift_min(lambda, d[i]) : swift_max(-lambda, d[i]);
    }
}
