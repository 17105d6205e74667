// Learning-rate schedules, evaluated per optimizer step (iteration), as in the ConvNeXt training
// script (utils.cosine_scheduler):
//   warmup (W steps): lr[i] = linspace(warmup_lr, base, W)[i]         (i < W; endpoints included)
//   cosine:           lr[i] = min + (base - min)/2 * (1 + cos(pi * (i - W) / (T - W)))
//   step:             lr[i] = max(min, base * rate^floor(epoch(i) / every))   (ResNet: x0.1 every 30 epochs)
// and the linear scaling rule lr = base_lr * global_batch / lr_batch (Goyal et al.).
import Foundation
import Tensor

/// The learning rate at every optimizer step of a run.
public struct LRSchedule: Equatable {
    /// How the rate decays after warmup.
    public enum Decay: Equatable {
        /// Half-cosine from the base rate to the minimum over the steps after warmup.
        case cosine
        /// Multiply by `rate` every `every` epochs (counted from the start of training; fractions allowed).
        case step(every: Double, rate: Double)
    }
    public var decay: Decay
    /// Peak learning rate (already scaled to the global batch).
    public var baseLR: Double
    /// Final learning rate of the cosine; floor of the step decay.
    public var minLR: Double
    /// First learning rate of the warmup.
    public var warmupLR: Double
    /// Number of warmup steps (0: none).
    public var warmupSteps: Int
    /// Total optimizer steps of the run.
    public var totalSteps: Int
    /// Optimizer steps per epoch (for the step decay).
    public var stepsPerEpoch: Int

    /// - Parameters:
    ///   - decay: cosine or step decay.
    ///   - baseLR: peak rate (scaled).
    ///   - minLR: final/floor rate.
    ///   - warmupLR: rate at step 0 when warming up.
    ///   - warmupSteps: warmup length in steps.
    ///   - totalSteps: run length in steps.
    ///   - stepsPerEpoch: steps in one epoch.
    public init(decay: Decay, baseLR: Double, minLR: Double, warmupLR: Double,
                warmupSteps: Int, totalSteps: Int, stepsPerEpoch: Int) throws {
        guard totalSteps > 0, stepsPerEpoch > 0 else {
            throw EngineError.invalidArgument("schedule: need at least one step (total \(totalSteps), per epoch \(stepsPerEpoch))")
        }
        guard warmupSteps >= 0, warmupSteps <= totalSteps else {
            throw EngineError.invalidArgument("schedule: warmup of \(warmupSteps) steps does not fit in \(totalSteps) steps")
        }
        guard baseLR >= 0, minLR >= 0, warmupLR >= 0 else {
            throw EngineError.invalidArgument("schedule: learning rates must be >= 0 (lr \(baseLR), min_lr \(minLR), warmup_lr \(warmupLR))")
        }
        if case .step(let every, let rate) = decay, every <= 0 || rate <= 0 {
            throw EngineError.invalidArgument("schedule: step decay needs every > 0 and rate > 0, got \(every), \(rate)")
        }
        self.decay = decay
        self.baseLR = baseLR; self.minLR = minLR; self.warmupLR = warmupLR
        self.warmupSteps = warmupSteps; self.totalSteps = totalSteps; self.stepsPerEpoch = stepsPerEpoch
    }

    /// The learning rate used by optimizer step `i` (0-based). Steps past the end keep the last rate.
    public func lr(at i: Int) -> Double {
        let i = max(0, min(i, totalSteps - 1))
        if i < warmupSteps {
            if warmupSteps == 1 { return warmupLR }
            return warmupLR + (baseLR - warmupLR) * Double(i) / Double(warmupSteps - 1)
        }
        switch decay {
        case .cosine:
            let n = totalSteps - warmupSteps
            let t = Double(i - warmupSteps) / Double(n)
            return minLR + 0.5 * (baseLR - minLR) * (1 + cos(Double.pi * t))
        case .step(let every, let rate):
            // decays happen at whole steps: every `every * stepsPerEpoch` steps (rounded)
            let period = max(1, Int((every * Double(stepsPerEpoch)).rounded()))
            return max(minLR, baseLR * pow(rate, Double(i / period)))
        }
    }

    /// The linear scaling rule: `lr * globalBatch / reference`.
    /// - Parameters:
    ///   - lr: the rate quoted at the reference batch (the table's "init lr (bs1024)").
    ///   - globalBatch: per-worker batch x workers x accumulation steps.
    ///   - reference: the batch the rate was quoted for (1024).
    public static func scaled(_ lr: Double, globalBatch: Int, reference: Int = 1024) -> Double {
        lr * Double(globalBatch) / Double(reference)
    }
}
