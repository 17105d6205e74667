// Swin's shifted windows as one pass each way (see adv_kernels.h; docs/models.md, Swin): the
// cyclic shift by -shift, the padding to a multiple of the window and the window partition of a
// (B, H, W, C) map are one gather of C-float rows; the window reverse, crop and shift back, with
// the block's residual add and drop-path factor, are one scatter. Unfused these are a roll, a pad,
// a permute and reshapes each way (and their gradients' copies).
//
// Windows are numbered row-major per image (nwy = ceil(H / w) rows of nwx = ceil(W / w)), tokens
// row-major in a window. Token (i, j) of window (wy, wx) is position (y, x) = (wy w + i, wx w + j)
// of the padded map, which holds the input's ((y + shift) mod H, (x + shift) mod W) when y < H
// and x < W, and zeros otherwise (timm rolls, then pads).
//
// The products are the same floats as the unfused ops': a copy, or k * v then r + (k * v) as
// separate roundings (no fused multiply-add: the pragma below).
#include "adv_kernels.h"
#include "dispatch.h"

#pragma clang fp contract(off)

/// The input row (b, (y + shift) mod H, (x + shift) mod W) of padded position (y, x) of image b,
/// or -1 in the padding.
static inline long source_row(long b, long y, long x, long h, long wd, long shift) {
    if (y >= h || x >= wd) return -1;
    long sy = (y + shift) % h, sx = (x + shift) % wd;
    return (b * h + sy) * wd + sx;
}

ADV_CLONES void adv_window_partition(const float *img, const float *sample_scale, float *win, long h, long wd, long c,
                                     long w, long shift, long w0, long w1) {
    long nwy = (h + w - 1) / w, nwx = (wd + w - 1) / w, per = nwy * nwx;
    for (long u = w0; u < w1; u++) {
        long b = u / per, wy = (u % per) / nwx, wx = u % nwx;
        float k = sample_scale ? sample_scale[b] : 1.0f;
        float *dst = win + u * w * w * c;
        for (long i = 0; i < w; i++)
            for (long j = 0; j < w; j++, dst += c) {
                long r = source_row(b, wy * w + i, wx * w + j, h, wd, shift);
                if (r < 0) {
                    memset(dst, 0, (size_t)c * sizeof(float));
                } else if (!sample_scale) {
                    memcpy(dst, img + r * c, (size_t)c * sizeof(float));
                } else {
                    const float *src = img + r * c;
                    for (long q = 0; q < c; q++) dst[q] = k * src[q];
                }
            }
    }
}

ADV_CLONES void adv_window_merge(const float *win, const float *res, const float *sample_scale, float *img, long h, long wd,
                                 long c, long w, long shift, long w0, long w1) {
    long nwy = (h + w - 1) / w, nwx = (wd + w - 1) / w, per = nwy * nwx;
    for (long u = w0; u < w1; u++) {
        long b = u / per, wy = (u % per) / nwx, wx = u % nwx;
        float k = sample_scale ? sample_scale[b] : 1.0f;
        const float *src = win + u * w * w * c;
        for (long i = 0; i < w; i++)
            for (long j = 0; j < w; j++, src += c) {
                long r = source_row(b, wy * w + i, wx * w + j, h, wd, shift);
                if (r < 0) continue;
                float *dst = img + r * c;
                if (!res && !sample_scale) {
                    memcpy(dst, src, (size_t)c * sizeof(float));
                } else if (!sample_scale) {
                    const float *rr = res + r * c;
                    for (long q = 0; q < c; q++) dst[q] = src[q] + rr[q];
                } else {
                    const float *rr = res ? res + r * c : NULL;
                    for (long q = 0; q < c; q++) {
                        float v = k * src[q];
                        dst[q] = rr ? v + rr[q] : v;
                    }
                }
            }
    }
}
