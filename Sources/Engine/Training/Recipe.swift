// A training recipe: every row of the study's recipe table as a named field
// (semantics in docs/reference.md section 4, each field in docs/training.md). The study's five columns
// are data in stdlib/recipes.adv, not code.

import Tensor

/// Everything `fit` needs to know about how to train, one field per row of the study's table.
public struct Recipe: Equatable {
    /// Column title ("convnext-tiny").
    public var name: String = "custom"
    /// Descriptive rows of the table (the model decides these; kept for printing).
    public var activation: String = "gelu"
    public var normLayer: String = ""
    /// Number of epochs.
    public var epochs: Int = 1
    /// Per-worker batch size (global batch = batch * workers * accumulation).
    public var batch: Int = 128
    /// Data-parallel workers the recipe was written for (the global batch counts them).
    public var workers: Int = 1
    /// Gradient-accumulation steps per optimizer step.
    public var accumulation: Int = 1
    /// "adamw" or "sgd".
    public var optimizer: String = "adamw"
    /// SGD momentum (the table's "SGD, mom=0.9") and Nesterov switch.
    public var momentum: Double = 0.9
    public var nesterov: Bool = false
    /// AdamW betas and eps.
    public var betas: [Double] = [0.9, 0.999]
    public var eps: Double = 1e-8
    /// Learning rate at `lrBatch` (the table's "init lr (bs1024)").
    public var lr: Double = 1e-3
    /// The batch `lr` is quoted for.
    public var lrBatch: Int = 1024
    /// "cosine" or "step".
    public var schedule: String = "cosine"
    /// Final (cosine) or floor (step) learning rate.
    public var minLR: Double = 1e-5
    /// Step decay: every `decayEpochs` epochs multiply by `decayRate`.
    public var decayEpochs: Double = 30
    public var decayRate: Double = 0.1
    /// Linear warmup length in epochs (fractions allowed) and its starting rate.
    public var warmupEpochs: Double = 0
    public var warmupLR: Double = 0
    /// "bf16", "fp16" or "fp32" (the table's "amp": "no" is fp32).
    public var precision: String = "fp32"
    public var weightDecay: Double = 0.05
    public var labelSmoothing: Double = 0.1
    /// Dropout rate (0: "no").
    public var dropout: Double = 0
    /// Stochastic depth rate of the last block (the model spreads it linearly over blocks).
    public var dropPath: Double = 0
    /// Repeated augmentation (DeiT); recorded, and `fit` refuses it when the pipeline cannot do it.
    public var repeatedAug: Bool = false
    /// Gradient-norm clip (nil: "no").
    public var gradClip: Double? = nil
    /// EMA decay of the weights (nil: "no").
    public var ema: Double? = nil
    /// RandAugment config (nil: none).
    public var randAugment: RandAugmentSpec? = nil
    /// Data-augmentation warmup of Bai et al. (docs/reference.md section 4).
    public var augWarmup: Bool = false
    /// Reproduce the original code's mixup-prob dip (0.9, 0.95 at epochs 8, 9).
    public var augWarmupDip: Bool = false
    /// Run epochs per table epoch of the augmentation warmup (1: the table's epochs; a recipe
    /// scaled from 300 to 3 epochs has 0.01, so the warmup's 10 epochs take 0.1 epoch).
    public var augWarmupScale: Double = 1
    /// Mixup and CutMix Beta alphas (0: off), mixing probability and CutMix switch probability.
    public var mixup: Double = 0
    public var cutmix: Double = 0
    public var mixProb: Double = 1
    public var switchProb: Double = 0.5
    /// Random erasing probability.
    public var randomErasing: Double = 0
    /// fp16 dynamic loss scaling: initial scale and clean steps before doubling it.
    public var lossScale: Double = 65536
    public var lossScaleGrowth: Int = 2000

    public init() {}

    /// Per-worker batch x workers x accumulation steps.
    public var globalBatch: Int { batch * workers * accumulation }

    /// The peak learning rate after the linear scaling rule.
    public var scaledLR: Double { LRSchedule.scaled(lr, globalBatch: globalBatch, reference: lrBatch) }

    /// The recipe scaled to a run of `epochs` epochs at global batch `batch` by the one rule of
    /// docs/reference.md section 6 (docs/training.md): the peak follows the linear scaling rule
    /// (`lr` at `lrBatch` is kept, so `scaledLR` = lr * batch / lrBatch); the warmup start and the
    /// minimum rate, given for the table's own global batch, are multiplied by
    /// batch / table batch, so the warmup never runs downward; every schedule given in epochs
    /// (LR warmup, step decay, the augmentation warmup) is multiplied by epochs / table epochs.
    /// The result has one worker and no accumulation.
    public func scaled(epochs: Int, batch: Int) throws -> Recipe {
        guard epochs >= 1, batch >= 1 else {
            throw EngineError.invalidArgument("recipe \(name): scaling needs epochs >= 1 and batch >= 1, got \(epochs), \(batch)")
        }
        let f = Double(batch) / Double(globalBatch), s = Double(epochs) / Double(self.epochs)
        var r = self
        r.epochs = epochs; r.batch = batch; r.workers = 1; r.accumulation = 1
        r.warmupLR = warmupLR * f
        r.minLR = minLR * f
        r.warmupEpochs = warmupEpochs * s
        r.decayEpochs = decayEpochs * s
        r.augWarmupScale = augWarmupScale * s
        try r.validate()
        return r
    }

    /// The engine precision of the recipe.
    public var enginePrecision: Precision { Precision(rawValue: precision) ?? .fp32 }

    /// Throws a clear error naming the first field that is out of its domain.
    public func validate() throws {
        func bad(_ field: String, _ why: String) -> EngineError {
            EngineError.invalidArgument("recipe \(name): \(field) \(why)")
        }
        guard epochs >= 1 else { throw bad("epochs", "must be >= 1, got \(epochs)") }
        guard batch >= 1 else { throw bad("batch", "must be >= 1, got \(batch)") }
        guard workers >= 1 else { throw bad("workers", "must be >= 1, got \(workers)") }
        guard accumulation >= 1 else { throw bad("accumulation", "must be >= 1, got \(accumulation)") }
        // Bounds that keep the global batch and step counts far from Int overflow.
        for (f, v) in [("epochs", epochs), ("batch", batch), ("workers", workers), ("accumulation", accumulation),
                       ("lr_batch", lrBatch)] where v > 1_000_000 {
            throw bad(f, "must be at most 1000000, got \(v)")
        }
        guard ["adamw", "sgd"].contains(optimizer) else { throw bad("optimizer", "must be \"adamw\" or \"sgd\", got \"\(optimizer)\"") }
        guard ["cosine", "step"].contains(schedule) else { throw bad("schedule", "must be \"cosine\" or \"step\", got \"\(schedule)\"") }
        guard Precision(rawValue: precision) != nil else { throw bad("precision", "must be \"bf16\", \"fp16\" or \"fp32\", got \"\(precision)\"") }
        guard lr >= 0, minLR >= 0, warmupLR >= 0 else { throw bad("lr/min_lr/warmup_lr", "must be >= 0") }
        guard lrBatch >= 1 else { throw bad("lr_batch", "must be >= 1, got \(lrBatch)") }
        guard warmupEpochs >= 0, warmupEpochs <= Double(epochs) else {
            throw bad("warmup_epochs", "must be in [0, epochs = \(epochs)], got \(fmt(warmupEpochs))")
        }
        guard betas.count == 2 else { throw bad("betas", "must be two numbers, got \(betas.count)") }
        for (f, v) in [("weight_decay", weightDecay), ("label_smoothing", labelSmoothing)] where v < 0 || v >= 1 && f == "label_smoothing" {
            throw bad(f, "is out of range: \(fmt(v))")
        }
        guard weightDecay >= 0 else { throw bad("weight_decay", "must be >= 0, got \(fmt(weightDecay))") }
        for (f, v) in [("dropout", dropout), ("drop_path", dropPath), ("mix_prob", mixProb),
                       ("switch_prob", switchProb), ("random_erasing", randomErasing)] where v < 0 || v > 1 {
            throw bad(f, "must be a probability in [0, 1], got \(fmt(v))")
        }
        guard dropout < 1, dropPath < 1 else { throw bad("dropout/drop_path", "must be < 1") }
        guard mixup >= 0, cutmix >= 0 else { throw bad("mixup/cutmix", "alphas must be >= 0") }
        if let c = gradClip, !(c > 0) { throw bad("grad_clip", "must be > 0 (or false for no clipping), got \(fmt(c))") }
        if let e = ema, !(e > 0 && e < 1) { throw bad("ema", "decay must be in (0, 1) (or false), got \(fmt(e))") }
        guard momentum >= 0, momentum < 1 else { throw bad("momentum", "must be in [0, 1), got \(fmt(momentum))") }
        guard lossScale > 0, lossScaleGrowth >= 1 else { throw bad("loss_scale", "must be > 0 with growth >= 1") }
        guard decayEpochs > 0, decayRate > 0 else { throw bad("decay_epochs/decay_rate", "must be positive") }
        guard augWarmupScale > 0, augWarmupScale <= 1e6 else {
            throw bad("aug_warmup_scale", "must be in (0, 1e6], got \(fmt(augWarmupScale))")
        }
    }

    /// The schedule of a run with `stepsPerEpoch` optimizer steps per epoch over `epochs` epochs.
    /// Warmup length is `warmupEpochs * stepsPerEpoch` steps, rounded.
    public func lrSchedule(stepsPerEpoch: Int, epochs: Int? = nil) throws -> LRSchedule {
        let e = epochs ?? self.epochs
        let (total, overflow) = stepsPerEpoch.multipliedReportingOverflow(by: e)
        guard !overflow, stepsPerEpoch >= 0 else {
            throw EngineError.invalidArgument("schedule: \(stepsPerEpoch) steps per epoch for \(e) epochs is too many steps")
        }
        let warm = Int(min(Double(total), max(0, (warmupEpochs * Double(stepsPerEpoch)).rounded())))
        return try LRSchedule(decay: schedule == "step" ? .step(every: decayEpochs, rate: decayRate) : .cosine,
                              baseLR: scaledLR, minLR: minLR, warmupLR: warmupLR,
                              warmupSteps: warm, totalSteps: total, stepsPerEpoch: stepsPerEpoch)
    }

    /// A new optimizer over `parameters` per the recipe (weight decay skipped for 1-D tensors).
    public func makeOptimizer(_ parameters: [NamedTensor]) throws -> Optimizer {
        let groups = ParameterGroup.split(parameters, weightDecay: weightDecay)
        switch optimizer {
        case "sgd": return try SGD(groups: groups, momentum: momentum, nesterov: nesterov)
        default:
            guard betas.count == 2 else { throw EngineError.invalidArgument("recipe \(name): betas must be two numbers") }
            return try AdamW(groups: groups, betas: (betas[0], betas[1]), eps: eps)
        }
    }
}
