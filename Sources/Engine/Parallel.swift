// Parallel: our own parallel loops over large chunks, and the OpenBLAS thread count.
//
// Rule: the two pools are never busy at once. Parallel.forEach bodies call sgemm only inside
// `withSingleThreadedBLAS` (many small products, e.g. attention per head); otherwise sgemm is
// called from the calling thread, so at any moment either OpenBLAS's threads or ours work.
import CBLAS
import Dispatch
import Foundation

public enum Parallel {
    nonisolated(unsafe) static var _threads: Int = {
        if let s = ProcessInfo.processInfo.environment["ADV_THREADS"], let n = Int(s), n >= 1 {
            openblas_set_num_threads(Int32(n))
            return n
        }
        let n = max(1, ProcessInfo.processInfo.activeProcessorCount)
        openblas_set_num_threads(Int32(n))
        return n
    }()

    /// The number of threads used by our loops and by OpenBLAS (default: ADV_THREADS or the
    /// number of cores). Setting it also sets OpenBLAS's thread count. Values below 1 become 1.
    public static var threads: Int {
        get { _threads }
        set {
            let n = max(1, newValue)
            _threads = n
            openblas_set_num_threads(Int32(n))
        }
    }

    /// Runs `body` with OpenBLAS limited to one thread (restored afterwards), so sgemm may be
    /// called from inside our own parallel loops without the two pools competing.
    public static func withSingleThreadedBLAS<T>(_ body: () throws -> T) rethrows -> T {
        let t = threads
        if t > 1 { openblas_set_num_threads(1) }
        defer { if t > 1 { openblas_set_num_threads(Int32(t)) } }
        return try body()
    }

    /// Per-thread marker: set while this thread runs a chunk of a parallel `forEach`.
    private static let regionKey: pthread_key_t = {
        var k = pthread_key_t()
        _ = pthread_key_create(&k, nil)
        return k
    }()

    /// True on a thread that is running a chunk of a parallel `forEach` (nested loops and
    /// products then stay serial, so the two thread pools never compete). Thread-local, so a
    /// data-loading thread's loops do not affect the training thread's.
    public static var inParallelRegion: Bool {
        pthread_getspecific(regionKey) != nil
    }

    /// Runs `body` over consecutive ranges covering 0..<n, in parallel when there are at least two
    /// chunks of `minChunk` items; otherwise on the calling thread. Bodies must write disjoint data
    /// and may call sgemm (BLAS.gemm then runs unsplit on the calling thread; wrap the loop in
    /// `withSingleThreadedBLAS`).
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
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = c * per, hi = min(n, lo + per)
                let outer = pthread_getspecific(key)
                _ = pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
                if lo < hi { b(lo..<hi) }
                _ = pthread_setspecific(key, outer)
            }
        }
    }
}
