// How attacks with several restarts schedule them. All modes run the same restarts: each draws
// its random start for the whole batch from the RNG in the same order, examples do not interact
// in evaluation mode, and the per-example worst case is chosen by the same rule. The results
// are identical when the model computes each example the same at any batch size (the tests'
// models do); on real models the matrix kernels may round differently at another batch size
// (OpenBLAS picks other kernels for small products), so values can differ in the last bits.

/// Scheduling of restarts.
public enum RestartMode: String, CaseIterable {
    /// The first restart on the whole batch, then, when (restarts - 1) x the examples it did not
    /// fool fits `RestartMode.maxBatchedImages`, the remaining restarts as one batch over those
    /// examples; otherwise one restart after another (PGD and APGD alike). On this
    /// CPU engine the per-image cost of a forward/backward falls with the batch only up to about
    /// 32 images at 32x32 (convnext_atto input-gradient pass: 1.38 ms/image at batch 8, 1.01 at
    /// 32, 0.98 at 128; swin and deit flat), while sequential restarts skip the examples already
    /// fooled (BENCHMARKS.md, "Attacks").
    case auto
    /// All restarts of a batch as one larger batch (better arithmetic intensity).
    case batched
    /// One restart after another, each only on the examples still not fooled.
    case sequential

    /// Largest (restarts - 1) x surviving examples that `auto` runs as one batch.
    public nonisolated(unsafe) static var maxBatchedImages = 32

    /// True when all `restarts` should run as one batch from the start (only `batched` does:
    /// `auto` first runs one restart alone).
    func batchesAll(restarts: Int) -> Bool {
        self == .batched && restarts > 1
    }

    /// True when `auto` should run `restarts` remaining restarts over `survivors` examples as
    /// one batch.
    func batchesRest(restarts: Int, survivors: Int) -> Bool {
        guard self == .auto, restarts > 1 else { return false }
        let (total, overflow) = restarts.multipliedReportingOverflow(by: survivors)
        return !overflow && total <= RestartMode.maxBatchedImages
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
