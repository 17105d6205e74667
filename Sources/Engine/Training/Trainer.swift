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
    public private(set) var position = TrainingPosition()
    let attackRNG: RNG
    let progress: Progress
    var log: JSONLinesLog?

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
        guard source.batchesPerEpoch >= recipe.accumulation else {
            throw EngineError.invalidArgument("fit: an epoch has \(source.batchesPerEpoch) batches, fewer than accumulation = \(recipe.accumulation)")
        }
        guard options.maxBadSteps >= 1 else { throw EngineError.invalidArgument("fit: maxBadSteps must be >= 1") }
        self.model = model
        self.source = source
        self.recipe = recipe
        self.attack = attack
        self.options = options
        optimizer = try recipe.makeOptimizer(model.parameters())
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
    public func run() throws -> FitResult {
        let schedule = try recipe.lrSchedule(stepsPerEpoch: stepsPerEpoch, epochs: epochs)
        position = TrainingPosition()
        position.epochs = epochs
        position.seed = options.seed
        position.lossScaler = LossScaler(scale: recipe.lossScale, growthInterval: recipe.lossScaleGrowth)
        if let l = options.log { log = try JSONLinesLog(path: l) }
        let experiment = self.experiment
        position.experiment = experiment
        if let r = options.resume {
            position = try Checkpoint.load(from: r, model: model, optimizer: optimizer, ema: ema,
                                           expect: experiment, force: options.force)
            position.experiment = experiment
            guard position.epochs == epochs else {
                throw EngineError.invalidArgument("fit: \(r) was written by a run of \(position.epochs) epochs; resume with epochs: \(position.epochs) (the schedule depends on it)")
            }
            guard position.seed == options.seed else {
                throw EngineError.invalidArgument("fit: \(r) was written by a run with seed \(position.seed), this run has seed \(options.seed)")
            }
            attackRNG.state = position.attackRNG
            if !position.globalRNG.isEmpty { RNG.global.state = position.globalRNG }
            log?.write([("event", .string("resume")), ("from", .string(r)), ("epoch", .int(position.epoch + 1)),
                        ("batch", .int(position.batchInEpoch)), ("global_step", .int(position.globalStep))])
            progress.note("resuming from \(r) at epoch \(position.epoch + 1), step \(position.globalStep)")
        } else {
            log?.write([("event", .string("start")), ("model", .string(model.name)), ("recipe", .string(recipe.name)),
                        ("epochs", .int(epochs)), ("steps_per_epoch", .int(stepsPerEpoch)),
                        ("global_batch", .int(recipe.globalBatch)), ("lr", .double(schedule.baseLR)),
                        ("attack", .string(attack?.name ?? "none")), ("precision", .string(recipe.precision))])
        }

        let wasTraining = model.isTraining, savedPrecision = model.precision
        model.precision = recipe.enginePrecision
        model.trainedPrecision = recipe.enginePrecision  // table() labels its rows with it ("Train Prec")
        defer {
            model.isTraining = wasTraining
            model.precision = savedPrecision
            progress.finish()
        }
        var result = FitResult()
        let params = optimizer.allParameters
        let accumulation = recipe.accumulation
        let totalSteps = epochs * stepsPerEpoch
        let runStart = Date()
        let imagesPerStep = accumulation * source.batchSize
        progress.total = totalSteps * imagesPerStep
        progress.resume(from: position.globalStep * imagesPerStep)
        let fp16 = recipe.enginePrecision == .fp16

        while position.epoch < epochs {
            let epoch = position.epoch
            if recipe.augmentationVariesWithin(epoch: epoch) {
                // A compressed augmentation warmup: settings per batch (Recipe.augmentation(position:)).
                let per = Double(source.batchesPerEpoch), r = recipe
                try source.configure(perBatch: { i in r.augmentation(position: Double(epoch) + Double(i) / per) })
            } else {
                try source.configure(recipe.augmentation(epoch: epoch))
            }
            let stream = try source.batches(epoch: epoch, from: position.batchInEpoch)
            let epochStart = Date()
            var lossSum = 0.0, lossCount = 0, seen = 0, advCorrect = 0, cleanSeen = 0, cleanCorrect = 0, skipped = 0
            /// The metrics of the steps taken so far in this epoch.
            func summary(validation: [(String, Double)], complete: Bool) -> EpochSummary {
                EpochSummary(epoch: epoch, loss: lossCount > 0 ? lossSum / Double(lossCount) : .nan,
                             cleanAccuracy: cleanSeen > 0 ? Double(cleanCorrect) / Double(cleanSeen) : nil,
                             adversarialAccuracy: seen > 0 ? Double(advCorrect) / Double(seen) : 0,
                             skippedSteps: skipped, seconds: Date().timeIntervalSince(epochStart),
                             validation: validation, complete: complete)
            }
            // Set when maxSteps falls on this epoch's last step: the epoch ends normally, then the run stops.
            var stopAfterEpoch = false

            while position.batchInEpoch + accumulation <= stepsPerEpoch * accumulation {
                try stopIfLogFailed(epoch: epoch)
                do { try Interrupt.check() } catch {
                    let saved = try saveCheckpoint(reason: "interrupt")
                    progress.note("training interrupted at epoch \(epoch + 1), step \(position.globalStep)"
                                  + (saved.map { "; checkpoint \($0) (continue with resume:)" } ?? ""))
                    throw error
                }
                let stepStart = Date()
                let lr = schedule.lr(at: position.globalStep)
                let scale = fp16 ? position.lossScaler.scale : 1
                optimizer.zeroGrad()
                var stepLoss = 0.0, badLoss = false, stepImages = 0
                let every = options.cleanAccuracyEvery
                let measureClean = every > 0 && (position.batchInEpoch / accumulation) % every == 0
                // What an interruption inside the step (the attack checks for Ctrl-C) rolls back to,
                // so the checkpoint equals the state between steps and resuming stays bit-identical.
                let before = (position: position, attack: attackRNG.state, global: RNG.global.state,
                              buffers: model.buffers().map { $0.tensor.copy() })
                do {
                for _ in 0..<accumulation {
                    guard let batch = try stream.next() else {
                        throw EngineError.io("fit: the data ended after \(position.batchInEpoch) batches of epoch \(epoch + 1), expected \(source.batchesPerEpoch)")
                    }
                    position.batchInEpoch += 1
                    let n = batch.labels.count
                    stepImages += n
                    if measureClean {
                        cleanCorrect += try Trainer.correct(model, batch.images, batch.labels)
                        cleanSeen += n
                    }
                    let xAdv = try attack?.perturb(model, batch.images, labels: batch.labels, targets: batch.targets, rng: attackRNG) ?? batch.images
                    model.isTraining = true
                    let logits = try model.forward(xAdv)
                    let loss = try batch.targets.map { try Tensor.crossEntropy(logits, targets: $0) }
                        ?? Tensor.crossEntropy(logits, labels: batch.labels, labelSmoothing: Float(recipe.labelSmoothing))
                    let value = Double(loss.item)
                    advCorrect += try Trainer.matches(logits, batch.labels)
                    seen += n
                    if !value.isFinite || badLoss {
                        badLoss = true
                        stepLoss = value
                        continue
                    }
                    stepLoss += value / Double(accumulation)
                    try loss.backward(seed: Tensor(shape: loss.shape, repeating: Float(scale / Double(accumulation))))
                }
                } catch EngineError.interrupted {
                    position = before.position
                    attackRNG.state = before.attack
                    RNG.global.state = before.global
                    for (b, saved) in zip(model.buffers(), before.buffers) where b.tensor.count == saved.count {
                        b.tensor.ptr.update(from: saved.ptr, count: saved.count)
                    }
                    optimizer.zeroGrad()
                    let saved = try saveCheckpoint(reason: "interrupt")
                    progress.note("training interrupted during epoch \(epoch + 1), step \(position.globalStep) (the step was undone)"
                                  + (saved.map { "; checkpoint \($0) (continue with resume:)" } ?? ""))
                    throw EngineError.interrupted
                }
                // Decide whether to step.
                var stepped = false
                var why = ""
                if badLoss {
                    why = "loss is \(stepLoss)"
                } else {
                    if scale != 1 { GradientTools.scale(params, by: Float(1 / scale)) }
                    let finite = GradientTools.allFinite(params)
                    if fp16 {
                        if position.lossScaler.update(gradientsFinite: finite) {
                            stepped = true
                        } else {
                            progress.note("epoch \(epoch + 1) step \(position.globalStep): fp16 gradient overflow, step skipped, loss scale now \(fmt(position.lossScaler.scale))")
                            log?.write([("event", .string("overflow")), ("global_step", .int(position.globalStep)),
                                        ("loss_scale", .double(position.lossScaler.scale))])
                        }
                    } else if finite {
                        stepped = true
                    } else {
                        why = "gradients are not finite"
                    }
                }
                if stepped {
                    if let c = recipe.gradClip { GradientTools.clip(params, maxNorm: c) }
                    try optimizer.step(lr: lr)
                    try ema?.update(from: model)
                    position.badSteps = 0
                    lossSum += stepLoss; lossCount += 1
                } else if !why.isEmpty {
                    position.badSteps += 1
                    skipped += 1
                    progress.note("epoch \(epoch + 1) step \(position.globalStep): \(why); step skipped (\(position.badSteps) in a row)")
                    log?.write([("event", .string("skipped")), ("global_step", .int(position.globalStep)), ("reason", .string(why))])
                }
                optimizer.zeroGrad()
                position.globalStep += 1

                // Report.
                let dt = Date().timeIntervalSince(stepStart)
                let elapsed = Date().timeIntervalSince(runStart)
                let adv = seen > 0 ? Double(advCorrect) / Double(seen) : 0
                let clean = cleanSeen > 0 ? Double(cleanCorrect) / Double(cleanSeen) : nil
                let meanLoss = lossCount > 0 ? lossSum / Double(lossCount) : Double.nan
                let cleanText = clean.map { String(format: "%.1f%%", 100 * $0) + cleanSampling } ?? "-"
                let stepInEpoch = position.batchInEpoch / accumulation
                result.history.append(StepRecord(globalStep: position.globalStep, epoch: Double(epoch) + Double(stepInEpoch) / Double(max(1, stepsPerEpoch)),
                                                 loss: stepLoss, lr: lr, clean: clean, adv: adv))
                // The log uses the result's units and numbering: percent, epochs and steps from 1.
                log?.write([("epoch", .int(epoch + 1)), ("step", .int(stepInEpoch)), ("global_step", .int(position.globalStep)),
                            ("loss", .double(stepLoss)), ("lr", .double(lr)), ("clean", clean.map { .double(100 * $0) } ?? .null),
                            ("adv", .double(100 * adv)), ("images_per_s", .double(Double(stepImages) / max(dt, 1e-9))),
                            ("skipped", .bool(!stepped)), ("loss_scale", .double(scale)), ("seconds", .double(elapsed))])
                progress.update(position.globalStep * imagesPerStep,
                                metric: String(format: "epoch %d/%d step %d/%d loss %.4f clean %@ adv %.1f%% lr %.3g",
                                               epoch + 1, epochs, stepInEpoch, stepsPerEpoch, meanLoss, cleanText, 100 * adv, lr),
                                force: stepInEpoch == stepsPerEpoch)

                if position.badSteps >= options.maxBadSteps {
                    let where_ = options.checkpoint.map { "; the last good weights are in \($0)" } ?? ""
                    throw EngineError.numeric("fit: training stopped at epoch \(epoch + 1), step \(position.globalStep): \(position.badSteps) steps in a row had \(why)\(where_). Lower the learning rate or use precision \"bf16\"/\"fp32\".")
                }
                if options.checkpointEvery > 0 && position.globalStep % options.checkpointEvery == 0 {
                    _ = try saveCheckpoint(reason: "every")
                }
                if let m = options.maxSteps, position.globalStep >= m, position.globalStep < totalSteps {
                    if position.batchInEpoch >= stepsPerEpoch * accumulation { stopAfterEpoch = true; break }
                    // Stopped inside the epoch: report the steps it did run.
                    result.epochs.append(summary(validation: [], complete: false))
                    result.checkpoint = try saveCheckpoint(reason: "max_steps")
                    result.steps = position.globalStep
                    result.stoppedEarly = true
                    progress.note("stopped after \(position.globalStep) steps (max_steps)")
                    return result
                }
            }
            // End of epoch.
            position.epoch += 1
            position.batchInEpoch = 0
            var validation: [(String, Double)] = []
            if let v = options.validate {
                validation = try Autograd.noGrad { try v(model) }
                log?.write([("event", .string("validation")), ("epoch", .int(epoch + 1))] + validation.map { ($0.0, LogValue.double(100 * $0.1)) })
            }
            let done = summary(validation: validation, complete: true)
            result.epochs.append(done)
            let vtext = validation.map { String(format: " %@ %.2f%%", $0.0, 100 * $0.1) }.joined()
            progress.note(String(format: "epoch %d/%d done: loss %.4f clean %@ adv %.1f%%%@ (%@)", epoch + 1, epochs, done.loss,
                                 done.cleanAccuracy.map { String(format: "%.1f%%", 100 * $0) + cleanSampling } ?? "-",
                                 100 * done.adversarialAccuracy, vtext, Progress.duration(done.seconds)))
            if stopAfterEpoch {
                result.checkpoint = try saveCheckpoint(reason: "max_steps")
                result.steps = position.globalStep
                result.stoppedEarly = true
                progress.note("stopped after \(position.globalStep) steps (max_steps)")
                return result
            }
            if position.epoch < epochs { _ = try saveCheckpoint(reason: "epoch") }
        }
        if let e = ema { try e.copy(into: model) }
        if let last = result.epochs.last {
            position.finalLoss = last.loss
            position.finalClean = last.cleanAccuracy
            position.finalAdv = last.adversarialAccuracy
        } else if position.finalLoss != nil || position.finalAdv != nil {
            // A finished run resumed: nothing was trained; report what it recorded at its end.
            result.epochs.append(EpochSummary(epoch: epochs - 1, loss: position.finalLoss ?? .nan,
                                              cleanAccuracy: position.finalClean, adversarialAccuracy: position.finalAdv ?? 0,
                                              skippedSteps: 0, seconds: 0, validation: [], complete: true))
        }
        result.checkpoint = try saveCheckpoint(reason: "end")
        result.steps = position.globalStep
        log?.write([("event", .string("end")), ("global_step", .int(position.globalStep)),
                    ("seconds", .double(Date().timeIntervalSince(runStart)))])
        try stopIfLogFailed(epoch: epochs - 1)
        return result
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
        e += recipe.tableRows.filter { $0.label != "model" }.map { ("recipe \($0.label)", $0.value) }
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
