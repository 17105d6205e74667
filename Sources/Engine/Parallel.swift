// Parallel: our own parallel loops over large chunks, and the OpenBLAS thread count.
//
// Rule: the two pools are never busy at once. Parallel.forEach bodies never call sgemm, and
// sgemm is only called from the calling thread, so at any moment either OpenBLAS's threads or
// ours are working, never both.
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

    /// Runs `body` over consecutive ranges covering 0..<n, in parallel when there are at least two
    /// chunks of `minChunk` items; otherwise on the calling thread. Bodies must write disjoint data
    /// and must not call sgemm.
    /// - Parameters:
    ///   - n: the number of items.
    ///   - minChunk: the smallest range worth a thread (pick it so a chunk is ~50k+ flops).
    ///   - body: called once per range.
    public static func forEach(_ n: Int, minChunk: Int, _ body: (Range<Int>) -> Void) {
        guard n > 0 else { return }
        let t = threads
        let chunks = min(t, n / max(minChunk, 1))
        if chunks <= 1 {
            body(0..<n)
            return
        }
        let per = (n + chunks - 1) / chunks
        withoutActuallyEscaping(body) { b in
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = c * per, hi = min(n, lo + per)
                if lo < hi { b(lo..<hi) }
            }
        }
    }
}
