// Hot CPU kernels of the engine, in C so that clang can compile each one three times (AVX-512,
// AVX2+FMA, baseline x86-64) and pick the best at load time (target_clones / ifunc). Swift's own
// SIMD code is compiled for baseline x86-64 only (4-lane SSE, no FMA).
//
// Every function works on a contiguous range the caller chose (Swift splits work over threads
// with Parallel.forEach and calls these per chunk). Only the thread pool and the intrinsic
// kernels keep state: the AVX-512 / AVX512-BF16 switches, and per-thread scratch buffers that
// grow to the largest product a thread has run and are freed when it exits (cpu.c).
#ifndef ADV_KERNELS_H
#define ADV_KERNELS_H

#include <stdint.h>

// MARK: thread pool (pool.c)

/// A chunk of a parallel loop: called with the caller's context and the chunk index.
typedef void (*adv_chunk_fn)(void *ctx, long chunk);
/// Makes threads - 1 pool workers available (created on first need, never destroyed).
void adv_pool_set_threads(long threads);
/// Runs fn(ctx, c) for every c in [0, chunks): chunk 0 on the calling thread, the others on pool
/// workers; returns when all are done (0). Returns -1 without running anything when another
/// thread is using the pool or there are fewer than chunks - 1 workers.
int adv_pool_run(long chunks, adv_chunk_fn fn, void *ctx);

// MARK: machine probe (corelatency.c)

/// Round trip in ns of one cache line between CPU cpu_a (the caller, pinned for the call) and CPU
/// cpu_b (a helper thread): the first-quartile batch of 99 batches of `rounds`; -1 when it cannot
/// be measured (no such CPU, not Linux, or the other CPU stayed busy past budget_ns in a batch).
double adv_core_roundtrip_ns(int cpu_a, int cpu_b, long rounds, double budget_ns);

// MARK: elementwise (elementwise.c)

/// dst[i] = src[i] rounded to bfloat16, to nearest even (NaN stays NaN, quieted; overflow rounds
/// to inf); dst may equal src. Precision.bf16's rounding.
void adv_round_bf16(const float *src, float *dst, long n);
/// y[i] = x[i] * Phi(x[i]) (exact-erf GELU; Phi via Abramowitz-Stegun 7.1.26, abs. error < 2e-7;
/// e^x by a Cephes polynomial, relative error ~1e-7).
void adv_gelu_forward(const float *x, float *y, long n);
/// dx[i] = g[i] * (Phi(x[i]) + x[i] * pdf(x[i])).
void adv_gelu_backward(const float *g, const float *x, float *dx, long n);
/// Softmax of `rows` contiguous rows of length n (max subtracted).
void adv_softmax_rows(const float *x, float *y, long rows, long n);
/// dx = y * (g - sum(g * y)) per row.
void adv_softmax_rows_backward(const float *g, const float *y, float *dx, long rows, long n);

// MARK: normalisation (norm.c)

/// Layer norm of rows [r0, r1) of x (rows, d): xhat = (x - mean) * rstd, out = xhat * w + b
/// (w, b may be NULL). rstd[r] receives 1/sqrt(var + eps), mean[r] (when not NULL) the mean.
void adv_layernorm_forward(const float *x, float *out, float *mean, float *rstd, const float *w, const float *b,
                           long r0, long r1, long d, float eps);
/// Backward of adv_layernorm_forward for rows [r0, r1), from its input x and the mean and rstd
/// it kept (xhat is recomputed row by row into h, scratch of d floats): gx (when not NULL) is
/// overwritten; gw and gb (when not NULL, length d) receive this range's sums (+=).
void adv_layernorm_backward(const float *g, const float *x, const float *mean, const float *rstd, const float *w,
                            float *gx, float *gw, float *gb, float *h, long r0, long r1, long d);

/// Batch-norm statistics of channels [c0, c1) of x (n, c, hw): mean and biased variance
/// (two passes, sums in double).
void adv_bn_stats(const float *x, long n, long c, long hw, long c0, long c1, float *mean, float *var);
/// out = x * scale[ch] + shift[ch] for planes [p0, p1) of (n * c) planes of hw floats.
void adv_bn_apply(const float *x, float *out, long c, long hw, long p0, long p1, const float *scale, const float *shift);
/// Per channel in [c0, c1): sum_g[ch] = sum(g), sum_gx[ch] = sum(g * (x - mean[ch])) (double sums).
void adv_bn_grad_sums(const float *g, const float *x, const float *mean, long n, long c, long hw, long c0, long c1,
                      float *sum_g, float *sum_gx);
/// dx = a[ch] * g + b[ch] * x + d[ch] for planes [p0, p1) (batch norm's input gradient, folded).
void adv_bn_input_grad(const float *g, const float *x, float *dx, long c, long hw, long p0, long p1,
                       const float *a, const float *b, const float *d);

/// The activations `adv_bn_act_forward` can apply (bnact.c).
enum { ADV_ACT_GELU = 1, ADV_ACT_RELU = 2 };
/// Batch norm's affine pass fused with a residual add and an activation (bnact.c), for planes
/// [p0, p1) of (n * c) planes of hw floats: y = act(x * scale[ch] + shift[ch] + r) (r may be
/// NULL: no add); act ADV_ACT_GELU or ADV_ACT_RELU. The same values as adv_bn_apply, the add and
/// the activation run one after another.
void adv_bn_act_forward(const float *x, const float *r, float *y, long c, long hw, long p0, long p1,
                        const float *scale, const float *shift, int act);
/// The activation's part of the backward of adv_bn_act_forward: gt = g * act'(t), t = x * scale[ch]
/// + shift[ch] (+ r) recomputed (gt is the gradient of the add's output, and of r), and when dx is
/// not NULL also dx = kdx[ch] * gt (batch norm's input gradient in evaluation, as
/// adv_bn_input_grad computes it for finite x); gt may be NULL when only dx is wanted.
void adv_bn_act_backward(const float *g, const float *x, const float *r, float *gt, float *dx, const float *kdx,
                         long c, long hw, long p0, long p1, const float *scale, const float *shift, int act);

/// Group norm's apply pass (groupnorm.c): out = (x - center[p]) * scale[p] + shift[p] for planes
/// [p0, p1) of hw floats (center: the plane's group mean; scale: rstd * weight[channel]).
void adv_gn_apply(const float *x, float *out, long hw, long p0, long p1, const float *center,
                  const float *scale, const float *shift);
/// Group norm's input gradient, folded per plane: dx = a[p] * g + b[p] * (x - center[p]) + d[p].
void adv_gn_input_grad(const float *g, const float *x, float *dx, long hw, long p0, long p1, const float *center,
                       const float *a, const float *b, const float *d);

// MARK: pooling (pool2d.c)

/// Average pooling of planes [p0, p1) (h, w) -> (ho, wo) with a k x k window, stride s, zero
/// padding pad; inv_count[oh * wo + ow] is 1 / (the divisor of that output position).
void adv_avgpool_forward(const float *x, float *out, long p0, long p1, long h, long w, long ho, long wo,
                         long k, long s, long pad, const float *inv_count);
/// Its adjoint: gx (planes, h, w) += the output gradient spread back over each window.
void adv_avgpool_backward(const float *g, float *gx, long p0, long p1, long h, long w, long ho, long wo,
                          long k, long s, long pad, const float *inv_count);
/// Max pooling of planes [p0, p1) (h, w) -> (ho, wo), k x k windows, stride s, padding pad (-inf):
/// each output is its window's first maximum in row-major order (a NaN wins); arg (when not NULL)
/// receives its offset in the (h, w) plane, -1 for an empty window.
void adv_maxpool_forward(const float *x, float *out, int *arg, long p0, long p1, long h, long w, long ho,
                         long wo, long k, long s, long pad);
/// Its adjoint: gx (planes, hw) += each output's gradient at its arg offset, in output order.
void adv_maxpool_backward(const float *g, const int *arg, float *gx, long p0, long p1, long hw, long howo);

// MARK: PoolFormer's token mixer and layer-scaled residuals (poolmix.c, layerscale.c)
// Planes p of NCHW maps: channel p % c, sample p / c; s = scale[p % c] * sample_scale[p / c]
// (sample_scale may be NULL: 1).


/// Floats of scratch adv_poolmix_forward / _backward need for planes w wide.
long adv_poolmix_scratch(long w);
/// out = x + s * (avgpool3x3(n) - n) over planes [p0, p1) of (h, w): the pool with stride 1,
/// padding 1, count_include_pad=False (each output divided by its window's in-image pixels).
void adv_poolmix_forward(const float *x, const float *n, const float *scale, const float *sample_scale,
                         float *out, long c, long h, long w, long p0, long p1, float *scratch);
/// Its gradients from the output gradient g: gn = s * (pool's adjoint of g - g) (overwritten;
/// NULL: not wanted) and gs[p] = sample_scale * sum over plane p of g * (avgpool3x3(n) - n)
/// (NULL: not wanted). x's gradient is g itself.
void adv_poolmix_backward(const float *g, const float *n, const float *scale, const float *sample_scale,
                          float *gn, float *gs, long c, long h, long w, long p0, long p1, float *scratch);
/// out = x + s * y over planes [p0, p1) of hw floats.
void adv_scale_residual_forward(const float *x, const float *y, const float *scale, const float *sample_scale,
                                float *out, long c, long hw, long p0, long p1);
/// gy = s * g (NULL: not wanted), gs[p] = sample_scale * sum over plane p of g * y (NULL: not wanted).
void adv_scale_residual_backward(const float *g, const float *y, const float *scale, const float *sample_scale,
                                 float *gy, float *gs, long c, long hw, long p0, long p1);
/// Channels-last branch: out(n, c, p) = x(n, c, p) + s * y(n, p, c) for x (N, C, HW) and y (N, HW, C),
/// over units [u0, u1) of (sample, block of 16 channels): unit u is sample u / ceil(C / 16).
void adv_scale_residual_cl_forward(const float *x, const float *y, const float *scale, const float *sample_scale,
                                   float *out, long c, long hw, long u0, long u1);
/// Its gradients: gy(n, p, c) = s * g(n, c, p) (NULL: not wanted) and gs[n * C + c] =
/// sample_scale * sum over p of g(n, c, p) y(n, p, c) (NULL: not wanted), over the same units.
void adv_scale_residual_cl_backward(const float *g, const float *y, const float *scale, const float *sample_scale,
                                    float *gy, float *gs, long c, long hw, long u0, long u1);
/// adv_scale_residual_forward/backward with the branch y (and gy) in the packed layout
/// (C, n * hw): plane p = (sample p / c, channel p % c) of y at ((p % c) * n + p / c) * hw.
void adv_scale_residual_packed_forward(const float *x, const float *y, const float *scale, const float *sample_scale,
                                       float *out, long n, long c, long hw, long p0, long p1);
void adv_scale_residual_packed_backward(const float *g, const float *y, const float *scale, const float *sample_scale,
                                        float *gy, float *gs, long n, long c, long hw, long p0, long p1);

// MARK: Swin's shifted windows (swinwindow.c)
// A (B, H, W, C) map and its windows (B * ceil(H / w) * ceil(W / w), w * w, C): window u of image
// u / windows-per-image, row-major; token (i, j) of window (wy, wx) is padded position
// (y, x) = (wy w + i, wx w + j), holding the map's ((y + shift) mod H, (x + shift) mod W), or zeros
// past H or W. sample_scale: one factor per image (drop path), or NULL (1). Windows [w0, w1).

/// win := sample_scale[b] * the map's rows (zeros in the padding): roll by -shift, pad, partition.
void adv_window_partition(const float *img, const float *sample_scale, float *win, long h, long wd, long c,
                          long w, long shift, long w0, long w1);
/// The map's rows := res + sample_scale[b] * win (res NULL: 0), for tokens inside the map: window
/// reverse, crop and roll by +shift, with the residual add. Padding tokens are skipped.
void adv_window_merge(const float *win, const float *res, const float *sample_scale, float *img, long h, long wd,
                      long c, long w, long shift, long w0, long w1);

// MARK: optimizer (optim.c)

/// One AdamW update of n parameters in place, with PyTorch's operation order:
/// p *= decay (when apply_decay); m += w1 (g - m); v = v b2 + w2 g^2;
/// p -= step * m / (sqrt(v) / bc2_sqrt + eps).
void adv_adamw(float *p, const float *g, float *m, float *v, long n, float decay, int apply_decay,
               float w1, float b2, float w2, float bc2_sqrt, float eps, float step);

// MARK: depthwise convolution, stride 1 (depthwise.c)
// Planes are (h, w) images; plane p uses kernel k + (p % c) * kh * kw. Padding (ph, pw) must be
// at most (kh - 1, kw - 1) for the input-gradient kernel.

/// Floats of scratch one thread needs for the stride-1 depthwise kernels.
long adv_dw_scratch(long h, long w, long kh, long kw, long ph, long pw);
/// out (planes, ho, wo) for planes [p0, p1), bias may be NULL.
void adv_dw_forward_s1(const float *x, const float *k, const float *bias, float *out, long p0, long p1,
                       long c, long h, long w, long kh, long kw, long ph, long pw, float *scratch);
/// Gradients for planes [p0, p1): dx (planes, h, w) is overwritten when not NULL; dk_planes
/// (planes, kh*kw) receives each plane's own weight gradient (+=) when not NULL.
void adv_dw_backward_s1(const float *x, const float *k, const float *g, float *dx, float *dk_planes,
                        long p0, long p1, long c, long h, long w, long kh, long kw, long ph, long pw,
                        float *scratch);

// MARK: depthwise 7x7, stride 1, padding 3, with AVX-512 (depthwise512.c)
// Register-blocked over output rows, or one vector per plane on maps of at most 16 pixels. Each
// returns 0 (nothing written) when the CPU lacks AVX-512 or the planes have fewer than 8 rows and
// more than 16 pixels; then use the depthwise.c kernels.

/// Floats of scratch one thread needs for the adv_dw7 kernels on (h, w) planes.
long adv_dw7_scratch(long h, long w);
/// dst (planes, h, w) for planes [p0, p1) = bias + src planes correlated with their channel's
/// 7x7 kernel (k + (p % c) * 49), or with it flipped when flip != 0 (the input gradient, where src
/// is the output gradient and bias NULL). bias may be NULL.
int adv_dw7_planes(const float *src, const float *k, const float *bias, int flip, float *dst, long p0, long p1,
                   long c, long h, long w, float *scratch);
/// dk_planes (planes, 49) += the weight gradients of planes [p0, p1), from the input x and the
/// output gradient g (both (planes, h, w)); plane p belongs to channel p % c. Each row gets its own
/// plane's gradient, except on maps of at most 16 pixels, where a channel's sum over the range
/// goes into the row of its first plane there (sum a channel's rows either way).
int adv_dw7_weight_grad(const float *x, const float *g, float *dk_planes, long p0, long p1, long c, long h,
                        long w, float *scratch);

// MARK: im2col / col2im (im2col.c)
// One image's group of cg channels (h, w) <-> col (cg * kh * kw, ho * wo) with row stride ldc.

/// Writes col rows [r0, r1) (row = (c * kh + i) * kw + j) from the planes at x (zeros where the
/// tap falls on padding).
void adv_im2col(const float *x, float *col, long ldc, long h, long w, long kh, long kw, long sh, long sw,
                long ph, long pw, long ho, long wo, long r0, long r1);
/// Adds col back into the planes of channels [c0, c1) at dx (the adjoint of adv_im2col).
void adv_col2im(const float *col, float *dx, long ldc, long h, long w, long kh, long kw, long sh, long sw,
                long ph, long pw, long ho, long wo, long c0, long c1);

/// Gathers rows [r0, r1) of cnt images into one matrix: dst[r * ld + j * hw + p] =
/// src[j * image_stride + r * hw + p] (the im2col of a 1x1 convolution over a batch of images).
void adv_pack_images(const float *src, float *dst, long cnt, long hw, long image_stride, long ld, long r0, long r1);
/// The inverse scatter: dst[j * image_stride + r * hw + p] = (or += when accumulate)
/// src[r * ld + j * hw + p] for rows [r0, r1).
void adv_unpack_images(const float *src, float *dst, long cnt, long hw, long image_stride, long ld, long r0, long r1,
                       int accumulate);

// MARK: pixel tiles of NCHW maps as channels-last rows (pixeltile.c)
/// dst[p * c + ch] = src[ch * ld + p] for p < m (at most 16), ch < c.
void adv_gather_pixels(const float *src, long ld, long c, long m, float *dst);
/// dst[ch * ld + p] = src[p * c + ch] for p < m (at most 16), ch < c.
void adv_scatter_pixels(const float *src, long c, long m, float *dst, long ld);

// MARK: batched transpose (transpose.c)

/// For matrices [b0, b1) of a batch of (rows, cols) row-major matrices stored one after another,
/// and their rows [ra, rb): dst[b][c][r] = src[b][r][c] (each output matrix is (cols, rows)).
void adv_transpose_batched(const float *src, float *dst, long rows, long cols, long b0, long b1, long ra, long rb);

// MARK: AVX-512 kernels (cpu.c, smallgemm.c, softmax512.c, attention512.c)

/// 1 when the CPU and OS support AVX-512F (the kernels were compiled in and can run here).
int adv_cpu_has_avx512(void);
/// 1 when the CPU also has AVX512-BF16.
int adv_cpu_has_bf16(void);
/// 1 when the AVX-512 intrinsic kernels are in use: the CPU has them and Swift's Backend.avx512
/// (passed down through adv_set_avx512) is on. Before the first adv_set_avx512: the CPU's answer.
int adv_has_avx512(void);
/// Turns the AVX-512 kernels off (0) or on (1, only if the CPU has AVX-512). Called by Swift's
/// Backend (Sources/Tensor/Backend/Backend.swift), which owns the choice; C never reads the
/// environment.
void adv_set_avx512(int on);

/// C (M x N) = alpha * op(A) op(B) + beta * C, row-major with leading dimensions, beta 0 or 1,
/// on a register-blocked AVX-512 kernel without packing (for attention's per-head products).
/// Single-threaded. Returns 1 when done, 0 (C untouched) when the CPU lacks AVX-512, a size is
/// 0, beta is neither 0 nor 1, or scratch memory for op(B) = B^T cannot be had: then use sgemm.
int adv_sgemm_small(int transA, int transB, long M, long N, long K, float alpha,
                    const float *A, long lda, const float *B, long ldb, float beta, float *C, long ldc);
/// C = alpha * op(A) op(B) + D (D may be C itself, or NULL for none; ldd may be 0 to add one row
/// to every row): adv_sgemm_small with the addend read from its own matrix, so attention's bias
/// needs no copy into the scores first. Returns 0 (C untouched) as adv_sgemm_small does.
int adv_sgemm_small_add(int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
                        const float *B, long ldb, const float *D, long ldd, float *C, long ldc);
/// 1 when the AVX512-BF16 product (bf16gemm.c) is in use: the CPU has AVX512-BF16, AVX-512 is on
/// (adv_has_avx512) and Swift's Backend.bf16 (passed down through adv_set_bf16) is on.
int adv_has_bf16(void);
/// Turns the bf16 product off (0) or on (1, only if the CPU has it); called by Swift's Backend.
void adv_set_bf16(int on);
/// C (M x N) = alpha * op(A) op(B) + beta * C with both operands rounded to bf16 (nearest even)
/// and multiplied with vdpbf16ps, fp32 accumulation; row-major, single-threaded. Returns 0 (C
/// untouched) without AVX512-BF16, for an empty size, or when packing memory cannot be had.
int adv_sgemm_bf16(int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
                   const float *B, long ldb, float beta, float *C, long ldc);
/// adv_sgemm_bf16 (op(B) not transposed) over columns that run across a batch of images: with
/// bhw > 0, column j of op(B) is B[(j / bhw) * bimg + k * ldb + j % bhw], else B[k * ldb + j]; the
/// same for C with chw, cimg and ldc. j counts from col0 (a block of a larger product; B and C
/// point at column 0). bhw and chw are 0 or at least 16. Returns 0 (nothing written) where
/// adv_sgemm_bf16 would, or for hw in 1..15.
int adv_sgemm_bf16_images(int transA, long M, long N, long K, float alpha, const float *A, long lda, const float *B,
                          long ldb, long bhw, long bimg, float beta, float *C, long ldc, long chw, long cimg, long col0);
/// Attention's forward pass for adv_attention_forward (attention512.c). Head bh is batch
/// b = bh / heads, head h = bh % heads; each operand's head starts at base + b * X_batch +
/// h * X_head (in floats) and its rows are ld floats apart.
typedef struct {
    long heads, t, s, d, dv;
    const float *q; long q_batch, q_head, ldq;       // (T, D) per head
    const float *k; long k_batch, k_head, ldk;       // (S, D)
    const float *v; long v_batch, v_head, ldv;       // (S, Dv)
    float *out; long out_batch, out_head, ldo;       // (T, Dv)
    /// Added to the scores, rows contiguous along S and ldbias apart (0: one row for all): head
    /// (b, h) reads bias + (b % bias_groups) * bias_batch + h * bias_head. NULL for none.
    const float *bias; long bias_groups, bias_batch, bias_head, ldbias;
    float scale;                                     // multiplies q k^T
    /// (B H, T, S) probabilities kept for backward, or NULL (then the scratch holds them).
    float *probs;
    /// When round_bf16: the probabilities rounded to bf16 for P v, (B H, T, S) beside probs,
    /// or NULL without probs (scratch).
    float *rprobs;
    int round_bf16;
    /// With round_bf16: both products on the AVX512-BF16 kernel (adv_sgemm_bf16, which rounds
    /// q, k, v and P to bf16 as it packs them), so q, k, v need not be rounded first and rprobs
    /// is not written; 0: the fp32 small-product kernel on operands rounded by the caller.
    int bf16_products;
} adv_attention_args;
/// softmax(scale q k^T + bias) v for heads [h0, h1), single-threaded, with the next heads' q, k,
/// v prefetched a few lines per register tile. scratch: T floats, plus 2 T S when probs is NULL.
/// Returns 1 when done, 0 when the AVX-512 kernels are off or scratch memory cannot be had (the
/// caller then runs its own loop; some heads may already be written).
int adv_attention_forward(const adv_attention_args *a, long h0, long h1, float *scratch);

// MARK: FAB's projections (fabprojection.c)

/// The indices 0..<n of v sorted by value, descending (descending != 0) or ascending, ties by
/// lower index first (-0 equals +0; no NaN), into idx: a stable LSD radix sort of the values'
/// order-preserving bit patterns. keys: n scratch words; tmp: n scratch indices.
void adv_fab_order(const float *v, long n, int descending, int32_t *idx, uint32_t *keys, int32_t *tmp);
/// FAB's L-inf projection of one row: the smallest L-inf move d (dim floats, written) taking t
/// onto the hyperplane w0 . x = b0 within [0, 1]^dim, or the box corner when it cannot reach it.
/// scratch: 5 * dim floats.
void adv_fab_linf(const float *t, const float *w0, float b0, long dim, float *d, float *scratch);

#endif
