// How attacks with several restarts schedule them (`RestartMode.schedule`, shared by PGD and
// APGD). All modes run the same restarts: each draws
// its random start for the whole batch from the RNG in the same order, examples do not interact
// in evaluation mode, and the per-example worst case is chosen by the same rule. The results
// are identical when the model computes each example the same at any batch size (the tests'
// models do); on real models the matrix kernels may round differently at another batch size
// (OpenBLAS picks other kernels for small products), so values can differ in the last bits.

import Tensor

/// Scheduling of restarts.
public enum RestartMode: String, CaseIterable {
    /// The first restart on the whole batch; then the remaining restarts in groups over the
    /// examples not yet fooled, each group as one batch of at most the model's
    /// `restartBatchLimit` images (restarts x examples; a single restart when even two do not
    /// fit), with the survivors recounted after every group (PGD and APGD alike). On this CPU
    /// engine at 32x32, an input-gradient pass costs less per image up to batches of about 128
    /// images for the convolutional networks and Swin (resnet50_gelu: 16.4 ms/image at 32 images,
    /// 14.4 at 128; swin 27.9 and 24.9) but not beyond about 32 for DeiT (50.0 and 49.0), while
    /// sequential restarts skip the examples already fooled (BENCHMARKS.md, "Attacks").
    case auto
    /// All restarts of a batch as one larger batch (better arithmetic intensity).
    case batched
    /// One restart after another, each only on the examples still not fooled.
    case sequential

    /// Runs `restarts` restarts of an attack over the examples `candidates` (indices into the
    /// batch) as this mode schedules them, offering every result to `worst` in restart order,
    /// so an example keeps the first restart that fooled it, as when restarts run one by one.
    /// - Parameters:
    ///   - restarts: number of restarts (>= 1).
    ///   - candidates: the examples to attack.
    ///   - limit: the largest batch of images `auto` runs at once (restarts x examples).
    ///   - worst: the per-example worst case so far; updated.
    ///   - startSize: elements of one start (the whole batch), to refuse a group of restarts
    ///     that cannot be allocated before drawing its starts.
    ///   - attack: the attack's name, for that error.
    ///   - start: draws the next restart's random start for the whole batch. Called once per
    ///     restart, in restart order, whether or not any example is left to attack, so every
    ///     mode consumes the RNG identically.
    ///   - run: attacks the examples `idx` from `starts.count` restarts at once (full-batch
    ///     start tensors); returns the adversarial rows, success flags and losses of the
    ///     `starts.count x idx.count` rows, restart-major.
    func schedule(restarts: Int, candidates: [Int], limit: Int, worst: inout WorstCase, startSize: Int, attack: String,
                  start: () throws -> Tensor,
                  run: (_ idx: [Int], _ starts: [Tensor]) throws -> (Tensor, [Bool], [Float])) throws {
        var r = 0
        while r < restarts {
            try Interrupt.check()
            let active = candidates.filter { !worst.fooled[$0] }
            if active.isEmpty {
                // Nothing left to attack: the remaining starts are still drawn (one at a time,
                // nothing kept) so the RNG ends where it does in every mode.
                for _ in r..<restarts {
                    try Interrupt.check()
                    _ = try start()
                }
                return
            }
            var k = 1
            if self == .batched {
                k = restarts
            } else if self == .auto && r > 0 {
                k = Swift.max(1, Swift.min(restarts - r, limit / Swift.max(active.count, 1)))
            }
            if k > 1 {
                try Tensor.checkSize([k, startSize], "\(attack): \(k) batched restarts of \(active.count) examples")
            }
            let starts = try (0..<k).map { _ in try start() }
            r += k
            let (adv, fooled, loss) = try run(active, starts)
            let m = active.count
            for q in 0..<k {
                let rows = q * m..<(q + 1) * m
                worst.offer(active, adv: k == 1 ? adv : try AttackOps.rows(adv, Array(rows)),
                            fooled: Array(fooled[rows]), loss: Array(loss[rows]))
            }
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
