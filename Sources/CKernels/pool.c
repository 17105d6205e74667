// A small fork-join thread pool for the engine's parallel loops (see adv_kernels.h).
//
// Each worker has a mailbox: the caller writes the job, then bumps the mailbox's sequence
// number; the worker, spinning on that number, runs its chunk and publishes the same number as
// done. Workers spin for a while after each job (parallel loops come in quick succession during
// a training step, and waking a sleeping thread costs tens of microseconds), then sleep on a
// condition variable. One caller at a time: a second thread calling while the pool is busy gets
// -1 and runs its loop some other way.
#include "adv_kernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#define MAX_WORKERS 63
#define SPIN_ROUNDS 200000

typedef struct {
    _Atomic uint64_t seq;   // bumped by the caller for each job
    _Atomic uint64_t done;  // set to seq by the worker when its chunk is finished
    _Atomic int sleeping;
    adv_chunk_fn fn;
    void *ctx;
    long chunk;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char pad[64];
} mailbox;

static mailbox boxes[MAX_WORKERS];
static long started = 0;                 // workers created so far (never destroyed)
static long active = 0;                  // workers the pool may use (threads - 1)
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

/// One step of a spin-wait. Every 256th step yields the CPU, so that a spinning thread that the
/// scheduler put on the same core as the thread it waits for does not hold that core.
static inline void spin_step(long i) {
    if ((i & 255) == 255) {
        sched_yield();
        return;
    }
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *arg) {
    mailbox *m = (mailbox *)arg;
    uint64_t seen = 0;
    for (;;) {
        uint64_t s;
        long spins = 0;
        while ((s = atomic_load_explicit(&m->seq, memory_order_acquire)) == seen) {
            if (++spins < SPIN_ROUNDS) { spin_step(spins); continue; }
            pthread_mutex_lock(&m->mu);
            atomic_store(&m->sleeping, 1);
            while ((s = atomic_load(&m->seq)) == seen) pthread_cond_wait(&m->cv, &m->mu);
            atomic_store(&m->sleeping, 0);
            pthread_mutex_unlock(&m->mu);
            break;
        }
        seen = s;
        m->fn(m->ctx, m->chunk);
        atomic_store_explicit(&m->done, s, memory_order_release);
    }
    return NULL;
}

void adv_pool_set_threads(long threads) {
    long want = threads - 1;
    if (want < 0) want = 0;
    if (want > MAX_WORKERS) want = MAX_WORKERS;
    pthread_mutex_lock(&pool_lock);
    while (started < want) {
        mailbox *m = &boxes[started];
        pthread_mutex_init(&m->mu, NULL);
        pthread_cond_init(&m->cv, NULL);
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 16u << 20);
        if (pthread_create(&t, &attr, worker_main, m) != 0) { pthread_attr_destroy(&attr); break; }
        pthread_attr_destroy(&attr);
        started++;
    }
    active = want < started ? want : started;
    pthread_mutex_unlock(&pool_lock);
}

int adv_pool_run(long chunks, adv_chunk_fn fn, void *ctx) {
    if (chunks < 1) return 0;
    if (pthread_mutex_trylock(&pool_lock) != 0) return -1;
    if (chunks - 1 > active) { pthread_mutex_unlock(&pool_lock); return -1; }
    uint64_t seqs[MAX_WORKERS];
    for (long w = 0; w < chunks - 1; w++) {
        mailbox *m = &boxes[w];
        m->fn = fn;
        m->ctx = ctx;
        m->chunk = w + 1;
        seqs[w] = atomic_load(&m->seq) + 1;
        atomic_store(&m->seq, seqs[w]); // seq_cst: pairs with the worker's sleeping flag
        if (atomic_load(&m->sleeping)) {
            pthread_mutex_lock(&m->mu);
            pthread_cond_signal(&m->cv);
            pthread_mutex_unlock(&m->mu);
        }
    }
    fn(ctx, 0);
    for (long w = 0; w < chunks - 1; w++) {
        long i = 0;
        while (atomic_load_explicit(&boxes[w].done, memory_order_acquire) != seqs[w]) spin_step(i++);
    }
    pthread_mutex_unlock(&pool_lock);
    return 0;
}
