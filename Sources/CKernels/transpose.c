// Batched matrix transpose for permute (see adv_kernels.h): the permutations that move one block
// of trailing dimensions past another, e.g. NCHW <-> NHWC around ConvNeXt's channels-first layer
// norm. Tiles of 8 x 8 keep both the reads and the writes within a few cache lines, where an
// element-wise strided gather touched a new line per element. Pure data movement: the result is
// the same as the gather's, value for value.
#include "adv_kernels.h"
#include "dispatch.h"

#define ADV_TILE 8

ADV_CLONES void adv_transpose_batched(const float *src, float *dst, long rows, long cols, long b0, long b1, long ra,
                                      long rb) {
    long size = rows * cols;
    for (long b = b0; b < b1; b++) {
        const float *s = src + b * size;
        float *d = dst + b * size;
        for (long r0 = ra; r0 < rb; r0 += ADV_TILE) {
            long r1 = r0 + ADV_TILE < rb ? r0 + ADV_TILE : rb;
            for (long c0 = 0; c0 < cols; c0 += ADV_TILE) {
                long c1 = c0 + ADV_TILE < cols ? c0 + ADV_TILE : cols;
                for (long c = c0; c < c1; c++) {
                    float *dc = d + c * rows;
                    for (long r = r0; r < r1; r++) dc[r] = s[r * cols + c];
                }
            }
        }
    }
}
