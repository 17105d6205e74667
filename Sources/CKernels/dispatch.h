// Shared helpers of the kernels: the target_clones attribute and a 16-float vector type.
#ifndef ADV_DISPATCH_H
#define ADV_DISPATCH_H
#include <stdint.h>
#include <string.h>

/// Compiles a function for AVX-512 (x86-64-v4), AVX2+FMA (x86-64-v3) and baseline x86-64; the
/// dynamic loader picks the best one the CPU supports.
/// (Define ADV_CLONES empty to build one variant, e.g. to test a clone with -march.)
#if defined(ADV_CLONES)
#elif defined(__x86_64__) && defined(__linux__)
#define ADV_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ADV_CLONES
#endif

/// 16 floats: one zmm register with AVX-512, two ymm with AVX2, four xmm otherwise.
typedef float v16 __attribute__((vector_size(64)));

// Macros, not functions: a v16 passed to or returned from a function compiled without AVX-512
// would change the calling convention between the clones.
#define v16_load(p) ({ v16 v16_tmp_; memcpy(&v16_tmp_, (p), sizeof v16_tmp_); v16_tmp_; })
#define v16_store(p, v) ({ v16 v16_val_ = (v); memcpy((p), &v16_val_, sizeof v16_val_); })
#define v16_splat(x) ({ float v16_x_ = (x); (v16){v16_x_, v16_x_, v16_x_, v16_x_, v16_x_, v16_x_, v16_x_, v16_x_, \
                                                v16_x_, v16_x_, v16_x_, v16_x_, v16_x_, v16_x_, v16_x_, v16_x_}; })
typedef float adv_v8 __attribute__((vector_size(32)));
typedef float adv_v4 __attribute__((vector_size(16)));
/// Sum of the 16 lanes as a tree (halves added), not a 16-long chain of dependent adds.
#define v16_sum(v) ({ v16 v16_s_ = (v); \
    adv_v8 v16_8_ = __builtin_shufflevector(v16_s_, v16_s_, 0, 1, 2, 3, 4, 5, 6, 7) + \
                    __builtin_shufflevector(v16_s_, v16_s_, 8, 9, 10, 11, 12, 13, 14, 15); \
    adv_v4 v16_4_ = __builtin_shufflevector(v16_8_, v16_8_, 0, 1, 2, 3) + __builtin_shufflevector(v16_8_, v16_8_, 4, 5, 6, 7); \
    (v16_4_[0] + v16_4_[2]) + (v16_4_[1] + v16_4_[3]); })

/// Whether this compiler and target can build the AVX-512 intrinsic kernels (smallgemm.c,
/// softmax512.c); callers still check at run time with adv_has_avx512() (adv_kernels.h).
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define ADV_HAVE_AVX512_SOURCE 1
void adv_softmax_rows_avx512(const float *x, float *y, long rows, long n);
void adv_softmax_rows_backward_avx512(const float *g, const float *y, float *dx, long rows, long n);
/// dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols (both at most 16), in registers
/// (smallgemm.c; AVX-512 only).
void adv_transpose16(const float *src, long lds, int rows, int cols, float *dst, long ldd);

/// Software prefetch spread over a computation (attention512.c): the cache lines of up to three
/// strided regions (region r: rows[r] rows of row_bytes[r] bytes, row i at base[r] + i stride[r])
/// go to L2 `chunk` lines per adv_prefetch_step, which the kernels call once per register tile or
/// softmax block. Issued all at once, a head's few hundred prefetches fill the miss queues and
/// stall the core; spread out, they overlap with the arithmetic.
typedef struct {
    const char *base[3];
    long rows[3], row_bytes[3], stride[3];
    int regions;              // regions in use; the cursor is done when region == regions
    int region;               // the next line: region, row, byte offset in the row
    long row, offset;
    long chunk;               // lines per step
} adv_prefetch_cursor;

static inline void adv_prefetch_step(adv_prefetch_cursor *c) {
    long n = c->chunk;
    while (n > 0 && c->region < c->regions) {
        int r = c->region;
        const char *p = c->base[r] + c->row * c->stride[r] + c->offset;
        long left = (c->row_bytes[r] - c->offset + 63) / 64, take = n < left ? n : left;
        for (long i = 0; i < take; i++) __builtin_prefetch(p + 64 * i, 0, 2);
        n -= take;
        c->offset += 64 * take;
        if (c->offset >= c->row_bytes[r]) {
            c->offset = 0;
            if (++c->row == c->rows[r]) { c->row = 0; c->region++; }
        }
    }
}

/// adv_sgemm_small_add (adv_kernels.h) with row i of the product scaled by alpha * row_scale[i]
/// (row_scale may be NULL: alpha alone) and a prefetch step after each register tile (pf may
/// be NULL). smallgemm.c.
int adv_sgemm_small_pf(int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
                       const float *B, long ldb, const float *D, long ldd, float *C, long ldc,
                       const float *row_scale, adv_prefetch_cursor *pf);
/// Register tiles adv_sgemm_small_pf runs for an M x N product (one prefetch step each).
long adv_sgemm_small_tiles(int transB, long M, long N);
/// adv_softmax_rows_avx512 with a prefetch step per block of rows (pf may be NULL). With inv_sum,
/// the rows are left unnormalized: y = exp(x - row max) and inv_sum[r] = 1 / (row r's sum), so
/// y * inv_sum[r] is the softmax. softmax512.c.
void adv_softmax_rows_avx512_pf(const float *x, float *y, long rows, long n, float *inv_sum,
                                adv_prefetch_cursor *pf);
/// Blocks of rows (so prefetch steps) adv_softmax_rows_avx512_pf runs for `rows` rows.
long adv_softmax_blocks(long rows);
#else
#define ADV_HAVE_AVX512_SOURCE 0
#endif

/// Whether the compiler can build the AVX512-BF16 kernel (bf16gemm.c).
#if ADV_HAVE_AVX512_SOURCE && defined(__clang__) && __clang_major__ >= 12
#define ADV_HAVE_BF16_SOURCE 1
#else
#define ADV_HAVE_BF16_SOURCE 0
#endif

/// Per-thread scratch of the intrinsic kernels (cpu.c): one growing buffer per slot, kept for the
/// thread's lifetime and freed when it exits. NULL when memory cannot be had.
enum { ADV_SCRATCH_SMALLGEMM = 0, ADV_SCRATCH_BF16 = 1, ADV_SCRATCH_SLOTS = 2 };
void *adv_thread_scratch(int slot, size_t bytes);

#endif
