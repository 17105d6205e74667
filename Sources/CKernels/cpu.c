// Run-time choice of the AVX-512 intrinsic kernels (smallgemm.c, softmax512.c).
#include "adv_kernels.h"
#include "dispatch.h"
#include <stdlib.h>
#include <string.h>

/// -1 until first asked; then 0 or 1. Written before any worker thread uses it (the first call
/// happens on the thread that starts a computation) and only by adv_set_avx512 afterwards.
static int avx512_state = -1;

static int cpu_has_avx512(void) {
#if ADV_HAVE_AVX512_SOURCE
    // compiler-rt / libgcc also check that the OS saves the zmm and mask registers.
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
#else
    return 0;
#endif
}

int adv_has_avx512(void) {
    int s = __atomic_load_n(&avx512_state, __ATOMIC_RELAXED);
    if (s < 0) {
        const char *env = getenv("ADV_AVX512");
        s = (env && strcmp(env, "0") == 0) ? 0 : cpu_has_avx512();
        __atomic_store_n(&avx512_state, s, __ATOMIC_RELAXED);
    }
    return s;
}

void adv_set_avx512(int on) {
    __atomic_store_n(&avx512_state, on ? cpu_has_avx512() : 0, __ATOMIC_RELAXED);
}
