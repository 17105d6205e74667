// Depthwise convolution with stride 1, one (h, w) plane at a time (see adv_kernels.h).
//
// Each plane is copied into a zero-padded buffer whose padding never changes, so the kernel
// reads it without bounds checks: an output row is computed 16 columns at a time, the
// accumulator stays in registers over all taps, and taps that only see padding are skipped
// (on the 1x1 to 8x8 maps of the small models most of a 7x7 kernel falls on padding).
// The input gradient is the same kernel run over the zero-padded output gradient with the
// kernel flipped; the weight gradient is one dot product per tap.
#include "adv_kernels.h"
#include "dispatch.h"

static inline long round16(long n) { return (n + 15) / 16 * 16; }
static inline long lmax(long a, long b) { return a > b ? a : b; }
static inline long lmin(long a, long b) { return a < b ? a : b; }

/// Row length of a padded buffer holding width `w` plus `extra` padding columns, with room
/// for a 16-wide read at the last output column of any tap.
static inline long padded_width(long w, long extra) { return w + extra + 16; }

/// out (ho, wo) = bias + correlation of the padded plane `pad` (row length wp) with k (kh, kw).
/// Only rows [rlo, rhi) and columns [clo, chi) of `pad` may be nonzero.
static inline void conv_plane(const float *pad, long wp, long rlo, long rhi, long clo, long chi,
                              const float *k, long kh, long kw, float bias, float *out, long ho, long wo) {
    for (long oh = 0; oh < ho; oh++) {
        long i0 = lmax(0, rlo - oh), i1 = lmin(kh, rhi - oh);
        for (long ow0 = 0; ow0 < wo; ow0 += 16) {
            long last = lmin(ow0 + 16, wo) - 1;
            long j0 = lmax(0, clo - last), j1 = lmin(kw, chi - ow0);
            // Four accumulators (taps j mod 4) so the multiply-adds are not one long chain.
            v16 a0 = v16_splat(bias), a1 = v16_splat(0), a2 = v16_splat(0), a3 = v16_splat(0);
            for (long i = i0; i < i1; i++) {
                const float *row = pad + (oh + i) * wp + ow0;
                const float *kr = k + i * kw;
                long j = j0;
                for (; j + 4 <= j1; j += 4) {
                    a0 += v16_splat(kr[j]) * v16_load(row + j);
                    a1 += v16_splat(kr[j + 1]) * v16_load(row + j + 1);
                    a2 += v16_splat(kr[j + 2]) * v16_load(row + j + 2);
                    a3 += v16_splat(kr[j + 3]) * v16_load(row + j + 3);
                }
                for (; j < j1; j++) a0 += v16_splat(kr[j]) * v16_load(row + j);
            }
            v16 sum = (a0 + a1) + (a2 + a3);
            float *dst = out + oh * wo + ow0;
            if (ow0 + 16 <= wo) {
                v16_store(dst, sum);
            } else {
                for (long q = 0; q < wo - ow0; q++) dst[q] = sum[q];
            }
        }
    }
}

long adv_dw_scratch(long h, long w, long kh, long kw, long ph, long pw) {
    long ho = h + 2 * ph - kh + 1, wo = w + 2 * pw - kw + 1;
    long xpad = (h + 2 * ph) * padded_width(w, 2 * pw);
    long gpad = (ho + 2 * (kh - 1 - ph) > 0 ? ho + 2 * (kh - 1 - ph) : 1) * padded_width(wo, 2 * (kw - 1 - pw));
    return xpad + gpad + ho * round16(wo) + kh * kw + 64;
}

/// Copies plane src (h, w) into pad at row offset r0 and column offset c0 (row length wp).
static inline void place(const float *src, long h, long w, float *pad, long wp, long r0, long c0) {
    for (long r = 0; r < h; r++) memcpy(pad + (r + r0) * wp + c0, src + r * w, (size_t)w * sizeof(float));
}

ADV_CLONES void adv_dw_forward_s1(const float *x, const float *k, const float *bias, float *out, long p0, long p1,
                                  long c, long h, long w, long kh, long kw, long ph, long pw, float *scratch) {
    long ho = h + 2 * ph - kh + 1, wo = w + 2 * pw - kw + 1;
    long wp = padded_width(w, 2 * pw), hp = h + 2 * ph;
    memset(scratch, 0, (size_t)(hp * wp) * sizeof(float));
    for (long p = p0; p < p1; p++) {
        long ch = p % c;
        place(x + p * h * w, h, w, scratch, wp, ph, pw);
        conv_plane(scratch, wp, ph, ph + h, pw, pw + w, k + ch * kh * kw, kh, kw, bias ? bias[ch] : 0.0f,
                   out + p * ho * wo, ho, wo);
    }
}

ADV_CLONES void adv_dw_backward_s1(const float *x, const float *k, const float *g, float *dx, float *dk_planes,
                                   long p0, long p1, long c, long h, long w, long kh, long kw, long ph, long pw,
                                   float *scratch) {
    long ho = h + 2 * ph - kh + 1, wo = w + 2 * pw - kw + 1;
    long kk = kh * kw;
    // x padded (for the weight gradient), g padded by (kh-1-ph, kw-1-pw) (for the input gradient),
    // g with rows zero-extended to a multiple of 16 (for the weight gradient), the flipped kernel.
    long wp = padded_width(w, 2 * pw), hp = h + 2 * ph;
    long gph = kh - 1 - ph, gpw = kw - 1 - pw;
    long wpg = padded_width(wo, 2 * gpw), hpg = ho + 2 * gph;
    long wo16 = round16(wo);
    float *xpad = scratch;
    float *gpad = xpad + hp * wp;
    float *gz = gpad + hpg * wpg;
    float *kf = gz + ho * wo16;
    if (dk_planes) memset(xpad, 0, (size_t)(hp * wp) * sizeof(float));
    if (dx) memset(gpad, 0, (size_t)(hpg * wpg) * sizeof(float));
    if (dk_planes) memset(gz, 0, (size_t)(ho * wo16) * sizeof(float));
    for (long p = p0; p < p1; p++) {
        long ch = p % c;
        const float *kp = k + ch * kk;
        const float *gp = g + p * ho * wo;
        if (dx) {
            for (long t = 0; t < kk; t++) kf[t] = kp[kk - 1 - t];
            place(gp, ho, wo, gpad, wpg, gph, gpw);
            conv_plane(gpad, wpg, gph, gph + ho, gpw, gpw + wo, kf, kh, kw, 0.0f, dx + p * h * w, h, w);
        }
        if (dk_planes) {
            place(x + p * h * w, h, w, xpad, wp, ph, pw);
            place(gp, ho, wo, gz, wo16, 0, 0);
            float *dk = dk_planes + p * kk;
            for (long i = 0; i < kh; i++) {
                // output rows whose tap row i lands on a real input row
                long oh0 = lmax(0, ph - i), oh1 = lmin(ho, ph + h - i);
                if (oh0 >= oh1) continue;
                // up to 8 taps of this row at once: one g load feeds 8 independent accumulators
                for (long jb = 0; jb < kw; jb += 8) {
                    long nj = lmin(8, kw - jb);
                    v16 acc[8];
                    for (int q = 0; q < 8; q++) acc[q] = v16_splat(0);
                    for (long oh = oh0; oh < oh1; oh++) {
                        const float *gr = gz + oh * wo16, *xr = xpad + (oh + i) * wp + jb;
                        for (long ow0 = 0; ow0 < wo16; ow0 += 16) {
                            v16 gv = v16_load(gr + ow0);
                            for (int q = 0; q < 8; q++) {
                                if (q < nj) acc[q] += gv * v16_load(xr + ow0 + q);
                            }
                        }
                    }
                    for (long q = 0; q < nj; q++) dk[i * kw + jb + q] += v16_sum(acc[q]);
                }
            }
        }
    }
}
