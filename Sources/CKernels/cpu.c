// Run-time choice of the intrinsic kernels (AVX-512: smallgemm.c, softmax512.c, depthwise512.c;
// AVX512-BF16: bf16gemm.c), and their per-thread scratch memory.
#include "adv_kernels.h"
#include "dispatch.h"
#include <pthread.h>
#include <stdlib.h>

/// The switches as Swift's Backend set them (adv_set_*); -1 until the first call, which Swift
/// makes before any kernel runs (Backend.current is read by every parallel loop). Until then a
/// switch follows the CPU. The environment is read on the Swift side only.
static int avx512_state = -1;
static int bf16_state = -1;

int adv_cpu_has_avx512(void) {
#if ADV_HAVE_AVX512_SOURCE
    // compiler-rt / libgcc also check that the OS saves the zmm and mask registers.
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
#else
    return 0;
#endif
}

int adv_cpu_has_bf16(void) {
#if ADV_HAVE_BF16_SOURCE
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16") ? 1 : 0;
#else
    return 0;
#endif
}

/// A switch's value: as last set, or the CPU's answer before the first set.
static int resolve(const int *state, int (*probe)(void)) {
    int s = __atomic_load_n(state, __ATOMIC_RELAXED);
    return s < 0 ? probe() : s;
}

int adv_has_avx512(void) { return resolve(&avx512_state, adv_cpu_has_avx512); }

void adv_set_avx512(int on) { __atomic_store_n(&avx512_state, on ? adv_cpu_has_avx512() : 0, __ATOMIC_RELAXED); }

int adv_has_bf16(void) { return resolve(&bf16_state, adv_cpu_has_bf16) && adv_has_avx512(); }

void adv_set_bf16(int on) { __atomic_store_n(&bf16_state, on ? adv_cpu_has_bf16() : 0, __ATOMIC_RELAXED); }

// MARK: per-thread scratch

typedef struct {
    void *p[ADV_SCRATCH_SLOTS];
    size_t cap[ADV_SCRATCH_SLOTS];
} scratch_set;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static __thread scratch_set *thread_scratch;

static void scratch_free(void *v) {
    scratch_set *set = (scratch_set *)v;
    for (int i = 0; i < ADV_SCRATCH_SLOTS; i++) free(set->p[i]);
    free(set);
    thread_scratch = NULL;  // runs on the exiting thread: a later call there starts afresh
}

static void scratch_key_init(void) { pthread_key_create(&scratch_key, scratch_free); }

void *adv_thread_scratch(int slot, size_t bytes) {
    if (slot < 0 || slot >= ADV_SCRATCH_SLOTS) return NULL;
    if (!thread_scratch) {
        pthread_once(&scratch_once, scratch_key_init);
        thread_scratch = (scratch_set *)calloc(1, sizeof(scratch_set));
        if (!thread_scratch) return NULL;
        pthread_setspecific(scratch_key, thread_scratch);  // the key's destructor frees it at thread exit
    }
    if (bytes > thread_scratch->cap[slot]) {
        // 64-byte aligned, so the kernels' full-vector loads and stores never split a cache line.
        // The old contents are not kept.
        void *p = NULL;
        if (posix_memalign(&p, 64, bytes) != 0) return NULL;
        free(thread_scratch->p[slot]);
        thread_scratch->p[slot] = p;
        thread_scratch->cap[slot] = bytes;
    }
    return thread_scratch->p[slot];
}
