// Data-parallel training (docs/distributed.md): the parts of `Trainer` that differ when several
// processes share each batch. Every process runs the same run; the data source gives each its
// slice of every global batch (`BatchSource.shard`); every per-image random draw (augmentation
// in the pipeline, the attack's random start, drop path) is keyed by (seed, epoch, the image's
// position in the epoch's order), so N processes x batch B draw what one process x batch N*B
// draws. Weights start as rank 0's; after the backward passes of a step the gradients are
// averaged (GradientSync) and the step's loss and counts summed, so every process takes the same
// optimizer step and reports the same numbers. The gradient buckets start during the backward
// pass of the step's last micro-batch (GradientSync, as DDP) and are completed here.
import Foundation
import Tensor

extension Trainer {
    /// Number of processes sharing each batch (1 without a collective).
    var processes: Int { options.collective?.size ?? 1 }
    /// This process's rank (0 without a collective).
    var rank: Int { options.collective?.rank ?? 0 }

    /// Positions in the epoch's order of the `n` images of the micro-batch just taken: global
    /// micro-batch j holds positions j*N*B ..< (j+1)*N*B, and this process's images are its
    /// rank-th slice of B (the layout of `TrainPipeline`'s shards).
    func imagePositions(count n: Int) -> Range<Int> {
        let j = position.batchInEpoch - 1
        let first = j * source.batchSize * processes + rank * source.batchSize
        return first..<(first + n)
    }

    /// One generator per image, from (seed, epoch, position, tag).
    func imageRNGs(epoch: Int, positions: Range<Int>, tag: UInt64) -> [RNG] {
        let e = UInt64(bitPattern: Int64(epoch))
        return positions.map { RNG(seed: mixSeed(options.seed, e, UInt64($0), tag)) }
    }

    /// Makes every process start from rank 0's parameters and buffers (after a resume too).
    func broadcastWeights() throws {
        guard processes > 1, let c = options.collective else { return }
        try c.broadcast(model.parameters().map(\.tensor) + model.buffers().map(\.tensor))
    }

    /// After the step's backward passes: starts the gradient buckets not started during the
    /// backward, sums the non-finite-loss flag, the loss and the counts over the processes (the
    /// loss becomes their mean, as one process's over the whole batch) while they travel, then
    /// completes the buckets and averages the gradients unless the step is skipped anyway.
    func synchronize(_ step: inout StepOutcome) throws {
        guard processes > 1, let c = options.collective, let sync = gradientSync else { return }
        let start = Date()
        defer { step.syncSeconds = Date().timeIntervalSince(start) }
        try sync.startRemaining()  // every process issues the buckets before the numbers' sum
        let v = try c.sum([step.badLoss ? 1 : 0, step.loss, Double(step.images), Double(step.seen),
                           Double(step.advCorrect), Double(step.cleanSeen), Double(step.cleanCorrect),
                           options.stopRequested?() == true ? 1 : 0])
        step.badLoss = v[0] > 0
        step.loss = v[1] / Double(processes)
        step.images = Int(v[2]); step.seen = Int(v[3]); step.advCorrect = Int(v[4])
        step.cleanSeen = Int(v[5]); step.cleanCorrect = Int(v[6])
        stopAgreed = v[7] > 0
        try sync.finish(apply: !step.badLoss)
    }

    /// The synchronized-BatchNorm hook of one training forward and backward (nil unless
    /// `options.syncBN` on several processes); a failed sum is rethrown by `check()`.
    func batchNormSync() -> BatchNormSum? {
        guard options.syncBN, processes > 1, let c = options.collective else { return nil }
        return BatchNormSum(c)
    }
}

/// Sums BatchNorm statistics over the processes for `BatchNormSync` (whose hook cannot throw):
/// the first failure is kept and rethrown by `check()`; later sums are skipped.
final class BatchNormSum {
    let collective: Collective
    var failure: Error?
    init(_ c: Collective) { collective = c }

    var sum: (UnsafeMutablePointer<Double>, Int) -> Void {
        { [self] p, n in
            guard failure == nil else { return }
            do { try collective.sum(p, count: n) } catch { failure = error }
        }
    }

    func check() throws { if let f = failure { throw f } }
}
