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
#define v16_splat(x) ((v16){0} + (float)(x))
#define v16_sum(v) ({ v16 v16_s_ = (v); float v16_t_ = 0; for (int v16_i_ = 0; v16_i_ < 16; v16_i_++) v16_t_ += v16_s_[v16_i_]; v16_t_; })


#endif
