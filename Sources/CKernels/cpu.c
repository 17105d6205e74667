// Run-time choice of the AVX-512 intrinsic kernels (smallgemm.c, softmax512.c).
#include "adv_kernels.h"
#include "dispatch.h"
#include <stdlib.h>
#include <string.h>

/// -1 until first asked; then 0 or 1 (set once by the first call, or by adv_set_avx512).
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
        // Only if still unset: a concurrent adv_set_avx512 wins.
        int unset = -1;
        if (!__atomic_compare_exchange_n(&avx512_state, &unset, s, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) s = unset;
    }
    return s;
}

void adv_set_avx512(int on) {
    __atomic_store_n(&avx512_state, on ? cpu_has_avx512() : 0, __ATOMIC_RELAXED);
}
