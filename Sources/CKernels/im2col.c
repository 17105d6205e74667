// im2col and its adjoint col2im for convolution as a matrix product (see adv_kernels.h).
// For each (channel, tap) row and output row, the range of output columns whose tap lands inside
// the image is computed once, so the inner loops are plain copies/adds without bounds checks.
#include "adv_kernels.h"
#include "dispatch.h"

/// Output columns [lo, hi) whose input column ow * sw - pw + j lies in [0, w).
static inline void valid_cols(long j, long w, long sw, long pw, long wo, long *lo, long *hi) {
    long a = pw - j;                         // need ow * sw >= a
    long l = a <= 0 ? 0 : (a + sw - 1) / sw;
    long b = w - 1 + pw - j;                 // need ow * sw <= b
    long u = b < 0 ? 0 : b / sw + 1;
    if (u > wo) u = wo;
    if (l > u) l = u;
    *lo = l;
    *hi = u;
}

/// im2col of a patchify convolution (stride = kernel, no padding: ConvNeXt's stem and
/// downsampling layers): every tap is inside the image, so a row is ho runs of wo floats kw
/// apart, with no bounds and no division per row (on the 4x4 and 2x2 maps of the late stages a
/// row is only a few floats, and the per-row set-up dominated). Wider rows (wo >= 16) keep the
/// general path, whose stride-2 and stride-4 rows are vector shuffles.
static inline void im2col_patchify(const float *x, float *col, long ldc, long h, long w, long kh, long kw, long ho,
                                   long wo, long r0, long r1) {
    long c = r0 / (kh * kw), i = r0 % (kh * kw) / kw, j = r0 % kw;
    for (long row = r0; row < r1; row++) {
        const float *src = x + (c * h + i) * w + j;
        float *dst = col + row * ldc;
        for (long oh = 0; oh < ho; oh++) {
            const float *s = src + oh * kh * w;
            float *d = dst + oh * wo;
            for (long ow = 0; ow < wo; ow++) d[ow] = s[ow * kw];
        }
        if (++j == kw) {
            j = 0;
            if (++i == kh) { i = 0; c++; }
        }
    }
}

ADV_CLONES void adv_im2col(const float *x, float *col, long ldc, long h, long w, long kh, long kw, long sh, long sw,
                           long ph, long pw, long ho, long wo, long r0, long r1) {
    if (sh == kh && sw == kw && ph == 0 && pw == 0 && ho * kh <= h && wo * kw <= w && wo < 16) {
        im2col_patchify(x, col, ldc, h, w, kh, kw, ho, wo, r0, r1);
        return;
    }
    for (long row = r0; row < r1; row++) {
        long c = row / (kh * kw), r = row % (kh * kw);
        long i = r / kw, j = r % kw;
        const float *plane = x + c * h * w;
        float *dst = col + row * ldc;
        long lo, hi;
        valid_cols(j, w, sw, pw, wo, &lo, &hi);
        for (long oh = 0; oh < ho; oh++) {
            long ih = oh * sh - ph + i;
            float *drow = dst + oh * wo;
            if (ih < 0 || ih >= h) {
                memset(drow, 0, (size_t)wo * sizeof(float));
                continue;
            }
            const float *srow = plane + ih * w - pw + j;
            for (long ow = 0; ow < lo; ow++) drow[ow] = 0;
            if (sw == 1) {
                memcpy(drow + lo, srow + lo, (size_t)(hi - lo) * sizeof(float));
            } else {
                long ow = lo;
                // Strides 2 and 4 (the stems): 16 outputs from 2 or 4 vector loads and even-lane
                // shuffles, while the whole 16 * sw floats read stay inside the input row
                // (input column of srow[k] is k - pw + j, which must be < w).
                if (sw == 2) {
                    for (; ow + 16 <= hi && 2 * ow + 32 - pw + j <= w; ow += 16) {
                        v16 a = v16_load(srow + 2 * ow), b = v16_load(srow + 2 * ow + 16);
                        v16_store(drow + ow, __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
                    }
                } else if (sw == 4) {
                    for (; ow + 16 <= hi && 4 * ow + 64 - pw + j <= w; ow += 16) {
                        const float *p = srow + 4 * ow;
                        v16 a = v16_load(p), b = v16_load(p + 16), c = v16_load(p + 32), d = v16_load(p + 48);
                        v16 ab = __builtin_shufflevector(a, b, 0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
                        v16 cd = __builtin_shufflevector(c, d, 0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
                        v16_store(drow + ow, __builtin_shufflevector(ab, cd, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23));
                    }
                }
                for (; ow < hi; ow++) drow[ow] = srow[ow * sw];
            }
            for (long ow = hi; ow < wo; ow++) drow[ow] = 0;
        }
    }
}

ADV_CLONES void adv_col2im(const float *col, float *dx, long ldc, long h, long w, long kh, long kw, long sh, long sw,
                           long ph, long pw, long ho, long wo, long c0, long c1) {
    for (long c = c0; c < c1; c++) {
        float *plane = dx + c * h * w;
        for (long r = 0; r < kh * kw; r++) {
            long i = r / kw, j = r % kw;
            const float *src = col + (c * kh * kw + r) * ldc;
            long lo, hi;
            valid_cols(j, w, sw, pw, wo, &lo, &hi);
            for (long oh = 0; oh < ho; oh++) {
                long ih = oh * sh - ph + i;
                if (ih < 0 || ih >= h) continue;
                const float *srow = src + oh * wo;
                float *drow = plane + ih * w - pw + j;
                if (sw == 1) {
                    for (long ow = lo; ow < hi; ow++) drow[ow] += srow[ow];
                } else {
                    for (long ow = lo; ow < hi; ow++) drow[ow * sw] += srow[ow];
                }
            }
        }
    }
}

// Small planes (hw < 16: 4x4, 2x2, 1x1 maps) make each row of the copy a run of a few floats
// scattered across images, i.e. a transpose: there rows go in blocks of 16, images in the
// middle loop, so the 16 source (or destination) lines of a block stay in L1 while every line
// is used in full.
#define ADV_PACK_BLOCK 16

ADV_CLONES void adv_pack_images(const float *src, float *dst, long cnt, long hw, long image_stride, long ld, long r0, long r1) {
    if (hw < 16) {
        for (long b0 = r0; b0 < r1; b0 += ADV_PACK_BLOCK) {
            long b1 = b0 + ADV_PACK_BLOCK < r1 ? b0 + ADV_PACK_BLOCK : r1;
            for (long j = 0; j < cnt; j++) {
                const float *sj = src + j * image_stride;
                for (long r = b0; r < b1; r++) {
                    const float *s = sj + r * hw;
                    float *d = dst + r * ld + j * hw;
                    for (long p = 0; p < hw; p++) d[p] = s[p];
                }
            }
        }
        return;
    }
    for (long r = r0; r < r1; r++) {
        float *d = dst + r * ld;
        const float *s = src + r * hw;
        for (long j = 0; j < cnt; j++) {
            const float *sj = s + j * image_stride;
            float *dj = d + j * hw;
            for (long p = 0; p < hw; p++) dj[p] = sj[p];
        }
    }
}

ADV_CLONES void adv_unpack_images(const float *src, float *dst, long cnt, long hw, long image_stride, long ld, long r0, long r1,
                                  int accumulate) {
    if (hw < 16) {
        for (long b0 = r0; b0 < r1; b0 += ADV_PACK_BLOCK) {
            long b1 = b0 + ADV_PACK_BLOCK < r1 ? b0 + ADV_PACK_BLOCK : r1;
            for (long j = 0; j < cnt; j++) {
                float *dj = dst + j * image_stride;
                for (long r = b0; r < b1; r++) {
                    const float *s = src + r * ld + j * hw;
                    float *d = dj + r * hw;
                    if (accumulate) {
                        for (long p = 0; p < hw; p++) d[p] += s[p];
                    } else {
                        for (long p = 0; p < hw; p++) d[p] = s[p];
                    }
                }
            }
        }
        return;
    }
    for (long r = r0; r < r1; r++) {
        const float *s = src + r * ld;
        float *d = dst + r * hw;
        for (long j = 0; j < cnt; j++) {
            const float *sj = s + j * hw;
            float *dj = d + j * image_stride;
            if (accumulate) {
                for (long p = 0; p < hw; p++) dj[p] += sj[p];
            } else {
                for (long p = 0; p < hw; p++) dj[p] = sj[p];
            }
        }
    }
}
