// How attacks with several restarts schedule them. Both modes give identical results: each
// restart draws its random start for the whole batch from the RNG in the same order, examples
// do not interact in evaluation mode, and the per-example worst case is chosen by the same rule.

/// Scheduling of restarts.
public enum RestartMode: String, CaseIterable {
    /// Batched when restarts x batch fits `RestartMode.maxBatchedImages`, else sequential.
    /// The limit is 0 by default: on this CPU engine the per-image cost of a forward/backward
    /// grows with the batch (convnext_atto input-gradient pass: 8.1 ms/image at batch 8,
    /// 11.6 at 32; 6.4 at 32, 9.3 at 128) and sequential restarts skip the examples already
    /// fooled, so batched restarts measured slower (BENCHMARKS.md, "Attacks").
    case auto
    /// All restarts of a batch as one larger batch (better arithmetic intensity).
    case batched
    /// One restart after another, each only on the examples still not fooled.
    case sequential

    /// Largest restarts x batch that `auto` runs as one batch (0: `auto` is sequential).
    public nonisolated(unsafe) static var maxBatchedImages = 0

    /// True when `restarts` copies of `n` images should run as one batch.
    func batches(restarts: Int, n: Int) -> Bool {
        switch self {
        case .batched: return restarts > 1
        case .sequential: return false
        case .auto:
            let (total, overflow) = restarts.multipliedReportingOverflow(by: n)
            return restarts > 1 && !overflow && total <= RestartMode.maxBatchedImages
        }
    }
}

/// Per-example worst case over restarts: an example adopts restart r's output when it is not
/// yet fooled and restart r fooled it or reached a higher loss than the outputs so far.
struct WorstCase {
    var adversarial: Tensor
    var fooled: [Bool]
    var loss: [Float]
    var started: [Bool]

    init(_ x: Tensor) {
        adversarial = x.copy()
        fooled = [Bool](repeating: false, count: x.shape[0])
        loss = [Float](repeating: -.infinity, count: x.shape[0])
        started = fooled
    }

    /// Offers restart outputs for examples `idx` (row k of `adv` belongs to example idx[k]).
    mutating func offer(_ idx: [Int], adv: Tensor, fooled f: [Bool], loss l: [Float]) {
        let d = adversarial.count / max(adversarial.shape[0], 1)
        let dst = adversarial.ptr, src = adv.ptr
        for (k, i) in idx.enumerated() where !fooled[i] {
            if f[k] || !started[i] || l[k] > loss[i] {
                (dst + i * d).update(from: src + k * d, count: d)
                loss[i] = l[k]
                fooled[i] = f[k]
                started[i] = true
            }
        }
    }
}
