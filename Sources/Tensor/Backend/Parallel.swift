// Parallel: our own parallel loops over large chunks, on one thread pool for the whole engine.
//
// Rule: OpenBLAS always runs single-threaded. Large products are split over our pool by
// BLAS.gemm (Matmul.swift), many small ones run in parallel loops (attention heads), so only one
// set of threads ever exists: OpenBLAS's own workers spin for a long time after each threaded
// call and competed with ours for the two cores (steps took 1.5x longer at random).
import CKernels
import Dispatch
import Foundation

public enum Parallel {
    /// The number of threads used by our loops and split products: `Backend.current.threads`
    /// (ADV_THREADS or the number of cores); OpenBLAS itself stays single-threaded. Setting it
    /// sets that (values below 1 become 1); tests change it for a scope with `Backend.with`.
    public static var threads: Int {
        get { Backend.current.threads }
        set { Backend.current.threads = newValue }
    }

    /// Per-thread marker: set while this thread runs a chunk of a parallel `forEach`.
    fileprivate static let regionKey: pthread_key_t = {
        var k = pthread_key_t()
        _ = pthread_key_create(&k, nil)
        return k
    }()

    /// True on a thread that is running a chunk of a split `forEach` (nested loops and products
    /// then run their parts serially, so the two thread pools never compete; products split the
    /// same way either way, docs/architecture.md "Determinism"). Thread-local, so a data-loading
    /// thread's loops do not affect the training thread's.
    public static var inParallelRegion: Bool {
        pthread_getspecific(regionKey) != nil
    }

    /// Runs `body` over consecutive ranges covering 0..<n, in parallel when there are at least two
    /// chunks of `minChunk` items; otherwise on the calling thread. Bodies must write disjoint data
    /// and may call sgemm (BLAS.gemm then runs unsplit, single-threaded, on the calling thread).
    /// - Parameters:
    ///   - n: the number of items.
    ///   - minChunk: the smallest range worth a thread (pick it so a chunk is ~50k+ flops).
    ///   - body: called once per range.
    public static func forEach(_ n: Int, minChunk: Int, _ body: (Range<Int>) -> Void) {
        guard n > 0 else { return }
        let t = threads
        let chunks = min(t, n / max(minChunk, 1))
        if chunks <= 1 || inParallelRegion {
            body(0..<n)
            return
        }
        let per = (n + chunks - 1) / chunks
        let key = regionKey
        withoutActuallyEscaping(body) { b in
            // The spinning pool (CKernels/pool.c) first; GCD when another thread is using it.
            var job = PoolJob(body: b, n: n, per: per, key: key)
            let ran = withUnsafeMutablePointer(to: &job) { jp in
                adv_pool_run(chunks, { ctx, c in
                    guard let ctx = ctx else { return }
                    ctx.assumingMemoryBound(to: PoolJob.self).pointee.run(c)
                }, UnsafeMutableRawPointer(jp))
            }
            if ran == 0 { return }
            DispatchQueue.concurrentPerform(iterations: chunks) { c in job.run(c) }
        }
    }
}

extension Parallel {
    /// Parts of a split reduction or product: a function of the problem size only, never of the
    /// thread count, so that every sum is added in the same order with any number of threads
    /// (docs/architecture.md, "Determinism"). `size` items in parts of at least `quantum`, at
    /// most `maxParts` parts.
    static func parts(_ size: Int, quantum: Int, maxParts: Int = 8) -> Int {
        let most = Swift.max(1, Swift.min(maxParts, size / Swift.max(quantum, 1)))
        // A power of two, so that the parts share out evenly over 2, 4 or 8 threads.
        return 1 << (Int.bitWidth - 1 - most.leadingZeroBitCount)
    }
}

/// One parallel loop as the pool runs it: chunk c covers [c * per, min(n, (c + 1) * per)) and
/// runs with the thread marked as inside a parallel region.
private struct PoolJob {
    let body: (Range<Int>) -> Void
    let n: Int, per: Int
    let key: pthread_key_t

    func run(_ c: Int) {
        let lo = c * per, hi = min(n, lo + per)
        let outer = pthread_getspecific(key)
        _ = pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
        if lo < hi { body(lo..<hi) }
        _ = pthread_setspecific(key, outer)
    }
}
