// How glibc's malloc keeps freed memory, set once when the program loads (before main and
// before any thread allocates). See docs/architecture.md, "Memory".
//
// A training step frees and allocates the same large buffers on every step. By default glibc
// gives each thread that allocates its own arena of 64 MB heaps, trims and unmaps them on its
// own, and maps blocks above a moving threshold fresh: the kernel then faults every page in
// again on the next step. The settings:
//   - one arena for every thread (M_ARENA_MAX 1). glibc fixes its arena limit the first time
//     a second thread allocates, so this must run before any thread starts: hence a
//     constructor rather than a call from Swift;
//   - never trim the heap top (M_TRIM_THRESHOLD -1, which mallopt(3) documents as "disables
//     trimming completely"). INT_MAX is not enough: the study's DeiT heap grows past 2 GB, and
//     whenever the free space at its top passed INT_MAX bytes glibc gave it back, so about half
//     the runs made 12,000 brk calls and 40M page faults instead of 430 and 1.3M, at twice the
//     wall clock;
//   - blocks up to 32 MB from the heap (M_MMAP_THRESHOLD; larger ones the Swift side caches in
//     `BigBuffers`, Sources/Tensor/Core/Storage.swift).
#include <malloc.h>

__attribute__((constructor))
static void adv_tune_malloc(void) {
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, -1);
}
