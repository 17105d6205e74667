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
