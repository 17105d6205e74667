// Adversarial training (`fit`): for every mini-batch the attack generates adversarial images
// with the model in evaluation mode (soft targets when the batch is mixed), then the model is
// trained on them in training mode: forward, loss, backward, optimizer step at the scheduled lr.
// Handles gradient accumulation, clipping, EMA, bf16/fp16/fp32 (fp16 with dynamic loss scaling),
// NaN/inf skipping, Ctrl-C, checkpoints every N steps and bit-identical resuming.
import Foundation
import Tensor

/// Options of one `fit` call besides the recipe.
public struct FitOptions {
    /// Override of the recipe's epochs (the schedule is computed for this many).
    public var epochs: Int? = nil
    /// Checkpoint file (written every `checkpointEvery` steps, at each epoch end and at the end).
    public var checkpoint: String? = nil
    /// Optimizer steps between checkpoints (0: epoch ends and the end only).
    public var checkpointEvery: Int = 0
    /// JSON-lines log file (appended).
    public var log: String? = nil
    /// Checkpoint to continue from.
    public var resume: String? = nil
    /// Resume even when the checkpoint's experiment (recipe, data, attack, model) differs.
    public var force: Bool = false
    /// Seed of the attack's random starts (the data source has its own seed).
    public var seed: UInt64 = 0
    /// Progress line on stderr.
    public var progress: Bool = true
    /// Measure clean training accuracy (an extra forward in evaluation mode) on the first step of
    /// each epoch and every this many steps of it (0: never; 1: every step). The default, 16, keeps
    /// its cost near 1% of a PGD-1 training step (a forward without a graph is about a fifth of
    /// the step); the progress line says when it is sampled.
    public var cleanAccuracyEvery: Int = FitOptions.defaultCleanAccuracyEvery
    /// The default of `cleanAccuracyEvery`.
    public static let defaultCleanAccuracyEvery = 16
    /// Consecutive skipped steps (NaN/inf loss or gradients) before training stops.
    public var maxBadSteps: Int = 5
    /// Stop cleanly after this many optimizer steps in total (the run can be resumed).
    public var maxSteps: Int? = nil
    /// Called after each epoch with the model; returns named metrics (e.g. validation accuracy).
    public var validate: ((Model) throws -> [(String, Double)])? = nil
    /// The processes of a data-parallel run (nil or one process: train alone). Every process
    /// runs the same `fit`; each trains on its share of every batch (docs/distributed.md).
    public var collective: Collective? = nil
    /// Synchronized BatchNorm under data-parallel training: batch statistics over every
    /// process's share (false: each process's own, as PyTorch DDP by default).
    public var syncBN = false
    /// Under data-parallel training: start the gradient allreduce during the backward pass, as
    /// PyTorch DDP does (false: after it; the runtime sets it from ADV_DDP_OVERLAP).
    public var overlapAllreduce = true
    /// Under data-parallel training: whether this process was asked to stop (SIGTERM under
    /// mpirun). The request travels with the step's sums, so every process stops after the same
    /// step, rank 0 writing the checkpoint (docs/distributed.md, "Stopping a run").
    public var stopRequested: (() -> Bool)? = nil
    public init() {}
}

/// Per-epoch summary of a run: the metrics of the steps this run took in that epoch (a resumed
/// run's first epoch and a run stopped by `maxSteps` inside an epoch cover only part of it).
public struct EpochSummary {
    public var epoch: Int
    public var loss: Double
    public var cleanAccuracy: Double?
    public var adversarialAccuracy: Double
    public var skippedSteps: Int
    public var seconds: Double
    public var validation: [(String, Double)]
    /// False when `maxSteps` stopped the run inside this epoch (no validation ran then).
    public var complete: Bool = true
}

/// What `fit` returns.
public struct FitResult {
    public var epochs: [EpochSummary] = []
    /// Optimizer steps taken in total (including those of a resumed run).
    public var steps: Int = 0
    /// True when `maxSteps` stopped the run before the end.
    public var stoppedEarly = false
    /// Where the final checkpoint went.
    public var checkpoint: String? = nil
    /// One entry per optimizer step of this run, for training curves.
    public var history: [StepRecord] = []
}

/// The metrics of one optimizer step (the same numbers as the JSON-lines log's step line).
public struct StepRecord {
    /// Steps since the start of training (1 for the first).
    public var globalStep: Int
    /// Epochs done at the end of this step, fractional: 1 is the end of the first epoch.
    public var epoch: Double
    /// The step's loss.
    public var loss: Double
    /// The learning rate it used.
    public var lr: Double
    /// Running clean and adversarial training accuracy of the epoch so far (fractions).
    public var clean: Double?
    public var adv: Double
}

/// One adversarial training run.
public final class Trainer {
    public let model: Model
    public let source: BatchSource
    public let recipe: Recipe
    public let attack: Attack?
    public var options: FitOptions
    public private(set) var optimizer: Optimizer
    public private(set) var ema: WeightEMA?
    public internal(set) var position = TrainingPosition()
    let attackRNG: RNG
    let progress: Progress
    var log: JSONLinesLog?
    /// The gradient average of a data-parallel run (nil on one process).
    let gradientSync: GradientSync?
    /// Set when some process of a data-parallel run asked to stop (`FitOptions.stopRequested`,
    /// summed with the last step's numbers): every process stops before the next step.
    var stopAgreed = false

    /// - Parameters:
    ///   - model: the network (trained in place).
    ///   - source: training batches (batch size must equal `recipe.batch`).
    ///   - recipe: the training recipe.
    ///   - attack: the training attack (nil: standard training).
    ///   - options: epochs, checkpointing, logging, resume, validation.
    public init(model: Model, source: BatchSource, recipe: Recipe, attack: Attack?, options: FitOptions = FitOptions()) throws {
        try recipe.validate()
        if recipe.repeatedAug {
            throw EngineError.invalidArgument("recipe \(recipe.name): repeated_aug is not supported (the study's recipes all use 'no')")
        }
        guard source.batchSize == recipe.batch else {
            throw EngineError.invalidArgument("fit: the data gives batches of \(source.batchSize), the recipe says batch \(recipe.batch)")
        }
        if let c = source.labelClasses, c > model.classes {
            throw EngineError.invalidArgument("fit: the data has \(c) classes but the model \(model.name) predicts \(model.classes); build it with classes: \(c)")
        }
        if let e = options.epochs, e < 1 { throw EngineError.invalidArgument("fit: epochs must be >= 1, got \(e)") }
        guard options.maxBadSteps >= 1 else { throw EngineError.invalidArgument("fit: maxBadSteps must be >= 1") }
        if let c = options.collective, c.size > 1 { try source.shard(rank: c.rank, of: c.size) }
        guard source.batchesPerEpoch >= recipe.accumulation else {
            let n = options.collective?.size ?? 1, per = n > 1 ? " (of \(n) processes x \(source.batchSize) images)" : ""
            throw EngineError.invalidArgument("fit: an epoch has \(source.batchesPerEpoch) batches\(per), fewer than accumulation = \(recipe.accumulation)")
        }
        self.model = model
        self.source = source
        self.recipe = recipe
        self.attack = attack
        self.options = options
        let optimizer = try recipe.makeOptimizer(model.parameters())
        self.optimizer = optimizer
        gradientSync = options.collective.flatMap { $0.size > 1 ? GradientSync(params: optimizer.allParameters, collective: $0, overlap: options.overlapAllreduce) : nil }
        ema = try recipe.ema.map { try WeightEMA(model: model, decay: $0) }
        attackRNG = RNG(seed: options.seed ^ 0xA77A_C4ED_5EED)
        progress = Progress("fit \(model.name)", total: 0, unit: "images", enabled: options.progress)
    }

    /// Epochs of this run.
    public var epochs: Int { options.epochs ?? recipe.epochs }
    /// Optimizer steps per epoch.
    public var stepsPerEpoch: Int { source.batchesPerEpoch / recipe.accumulation }

    /// Trains; returns per-epoch summaries. Throws `EngineError.interrupted` after saving a
    /// checkpoint when Ctrl-C was pressed, and `EngineError.numeric` when too many steps in a
    /// row had NaN/inf losses (the checkpoint then holds the last good weights).
    ///
    /// A loop over the named steps of Trainer+Steps.swift: resume (or start), per epoch the
    /// batches, per optimizer step the attack and backward passes, the step with loss scaling,
    /// the log, the checkpoint and the stop checks.
    public func run() throws -> FitResult {
        let schedule = try recipe.lrSchedule(stepsPerEpoch: stepsPerEpoch, epochs: epochs)
        try resumeOrStart(schedule: schedule)
        let restore = enterTraining()
        defer { restore(); progress.finish() }
        var result = FitResult()
        let runStart = Date()
        let accumulation = recipe.accumulation
        while position.epoch < epochs {
            let epoch = position.epoch
            let stream = try startEpoch(epoch)
            var tally = EpochTally()
            // Set when maxSteps falls on this epoch's last step: the epoch ends normally, then the run stops.
            var stopAfterEpoch = false
            while position.batchInEpoch + accumulation <= stepsPerEpoch * accumulation {
                try checkBetweenSteps(epoch: epoch)
                var step = try forwardBackward(stream, epoch: epoch, lr: schedule.lr(at: position.globalStep), tally: &tally)
                try applyStep(&step, epoch: epoch, tally: &tally)
                report(step, epoch: epoch, tally: tally, runStart: runStart, result: &result)
                try stopOnBadSteps(step, epoch: epoch)
                if options.checkpointEvery > 0 && position.globalStep % options.checkpointEvery == 0 {
                    _ = try saveCheckpoint(reason: "every")
                }
                if maxStepsReached {
                    if position.batchInEpoch >= stepsPerEpoch * accumulation { stopAfterEpoch = true; break }
                    // Stopped inside the epoch: report the steps it did run.
                    result.epochs.append(tally.summary(epoch: epoch, validation: [], complete: false))
                    return try stopEarly(result)
                }
            }
            try endEpoch(epoch, tally: tally, result: &result)
            if stopAfterEpoch { return try stopEarly(result) }
            if position.epoch < epochs { _ = try saveCheckpoint(reason: "epoch") }
        }
        return try finish(result, runStart: runStart)
    }

    /// How the progress line qualifies the clean accuracy: "" when every step measures it,
    /// " (1 step in N)" when it is sampled.
    var cleanSampling: String {
        options.cleanAccuracyEvery > 1 ? " (1 step in \(options.cleanAccuracyEvery))" : ""
    }

    /// A failed log write (a full disk) stops the run: the log is cut back to its last whole line
    /// and the last checkpoint written stays as it was (docs/reliability.md).
    func stopIfLogFailed(epoch: Int) throws {
        guard let f = log?.failure else { return }
        throw EngineError.io("fit: \(f); training stopped at epoch \(epoch + 1), step \(position.globalStep)"
                             + (options.checkpoint.map { " (the last checkpoint written is kept in \($0))" } ?? ""))
    }

    /// What identifies this run's experiment, in the order a difference is reported: the recipe
    /// (every row of its table, the run's epochs), the data, the attack and the model
    /// (architecture and options including drop path).
    public var experiment: [(String, String)] {
        var e: [(String, String)] = [("recipe epochs (this run)", String(epochs))]
        // The global batch and the accumulation, not how the processes share them: a run resumes
        // on any number of processes with the same global batch (docs/distributed.md).
        e += recipe.tableRows.filter { $0.label != "model" && $0.label != "workers x batch x accumulation" }
            .map { ("recipe \($0.label)", $0.value) }
        e.append(("recipe accumulation", String(recipe.accumulation)))
        e += source.identity
        e.append(("attack", attack?.description ?? "none"))
        e.append(("model", model.identity))
        return e
    }

    /// Writes the checkpoint (when a path is set) with the current RNG states; returns its path.
    @discardableResult
    func saveCheckpoint(reason: String) throws -> String? {
        guard let path = options.checkpoint else { return nil }
        position.attackRNG = attackRNG.state
        position.globalRNG = RNG.global.state
        try Checkpoint.save(to: path, model: model, optimizer: optimizer, ema: ema, position: position, recipe: recipe.name)
        log?.write([("event", .string("checkpoint")), ("path", .string(path)), ("reason", .string(reason)),
                    ("global_step", .int(position.globalStep))])
        return path
    }

    /// Number of rows of `logits` whose argmax equals the label.
    static func matches(_ logits: Tensor, _ labels: [Int]) throws -> Int {
        let pred = try logits.argmax(axis: 1)
        return zip(pred, labels).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }
    }

    /// Correct predictions of `model` on `x` in evaluation mode without a graph.
    static func correct(_ model: Model, _ x: Tensor, _ labels: [Int]) throws -> Int {
        let was = model.isTraining
        model.isTraining = false
        defer { model.isTraining = was }
        return try Autograd.noGrad { try matches(try model.forward(x), labels) }
    }
}
