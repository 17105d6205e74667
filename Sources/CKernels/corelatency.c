// Core-to-core round trip: how long one cache line takes to go from CPU a to CPU b and back.
//
// Why it is measured (docs/performance.md, "Where the two vCPUs sit"): on this benchmark
// machine (a KVM guest with 2 vCPUs on an AMD EPYC host) the host places the two vCPUs either on
// cores that share an L3 cache or on cores that do not, and moves them now and then. The two
// threads of every parallel loop hand data to each other all the time (one thread writes a
// buffer, the other reads or overwrites it in the next op), so a `fit` at 32x32 runs at about
// 900 or about 550 images/s in bf16 depending on that placement alone (and the same split in
// fp32). The benchmarks record this number beside their results so a run can be classified.
//
// Method: the caller pins itself to CPU a and a helper thread to CPU b; they bounce a counter in
// one 64-byte line `rounds` times per batch, 99 batches, and the time per round trip of the batch
// at the first quartile is returned: short batches (a few hundred round trips, tens of
// microseconds) mostly run without a preemption, and the quartile leaves out those that had one,
// so the number stays the cache's even on a busy machine. A batch that has not finished after
// `budget_ns` of wall time (the other CPU busy with other work) ends the measurement early; fewer
// than 9 finished batches give -1, as do a machine without CPU b or a failed pin. Linux only
// (pthread_setaffinity_np); -1 elsewhere.
#define _GNU_SOURCE
#include "adv_kernels.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#if defined(__linux__)
#include <sched.h>
#endif

typedef struct {
    _Alignas(64) _Atomic long flag;
    _Alignas(64) _Atomic int stop;
    int cpu;
    int pinned;
    _Atomic int ready;
} bounce;

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

#if defined(__linux__)
static int pin_to(int cpu) {
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    return pthread_setaffinity_np(pthread_self(), sizeof s, &s) == 0;
}

/// The helper: answers every odd value with the next even one until told to stop.
static void *responder(void *arg) {
    bounce *b = (bounce *)arg;
    b->pinned = pin_to(b->cpu);
    atomic_store(&b->ready, 1);
    long want = 1;
    while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
        if (atomic_load_explicit(&b->flag, memory_order_acquire) == want) {
            atomic_store_explicit(&b->flag, want + 1, memory_order_release);
            want += 2;
        }
    }
    return NULL;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}
#endif

double adv_core_roundtrip_ns(int cpu_a, int cpu_b, long rounds, double budget_ns) {
#if defined(__linux__)
    if (rounds < 1 || cpu_a == cpu_b || cpu_a < 0 || cpu_b < 0 || cpu_a >= CPU_SETSIZE || cpu_b >= CPU_SETSIZE) return -1;
    bounce *b = NULL;
    if (posix_memalign((void **)&b, 64, sizeof(bounce)) != 0) return -1;
    atomic_store(&b->flag, 0);
    atomic_store(&b->stop, 0);
    atomic_store(&b->ready, 0);
    b->cpu = cpu_b;
    b->pinned = 0;
    // The caller's own mask is restored afterwards.
    cpu_set_t old;
    int had = pthread_getaffinity_np(pthread_self(), sizeof old, &old) == 0;
    pthread_t t;
    if (pthread_create(&t, NULL, responder, b) != 0) { free(b); return -1; }
    while (!atomic_load(&b->ready)) sched_yield();
    double times[99];
    int done = 0;
    if (b->pinned && pin_to(cpu_a)) {
        long k = 0;
        for (int batch = 0; batch < 99; batch++) {
            double t0 = now_ns();
            int late = 0;
            for (long i = 0; i < rounds && !late; i++, k++) {
                atomic_store_explicit(&b->flag, 2 * k + 1, memory_order_release);
                long spins = 0;
                while (atomic_load_explicit(&b->flag, memory_order_acquire) != 2 * k + 2) {
                    if ((++spins & 4095) == 0 && now_ns() - t0 > budget_ns) { late = 1; break; }
                }
            }
            if (late) break;
            times[done++] = (now_ns() - t0) / (double)rounds;
        }
    }
    atomic_store(&b->stop, 1);
    pthread_join(t, NULL);
    free(b);
    if (had) pthread_setaffinity_np(pthread_self(), sizeof old, &old);
    if (done < 9) return -1;
    qsort(times, (size_t)done, sizeof(double), cmp_double);
    return times[done / 4];
#else
    (void)cpu_a; (void)cpu_b; (void)rounds; (void)budget_ns;
    return -1;
#endif
}
