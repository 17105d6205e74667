// The named steps `Trainer.run` loops over (docs/training.md): resume or start, start an epoch,
// check between steps (log failure, Ctrl-C), take the batches and train on their attacked
// images (forward and backward, undone on Ctrl-C), the optimizer step with fp16 loss scaling and
// NaN/inf skipping, the report (history, log, progress), the stop checks, the end of an epoch
// and the end of the run. Each keeps the order of random draws, log lines and notes of the run,
// so a seeded run gives the same weights whatever the shape of this code.
import Foundation
import Tensor

/// The running metrics of the steps taken so far in one epoch.
struct EpochTally {
    var lossSum = 0.0, lossCount = 0
    var seen = 0, advCorrect = 0
    var cleanSeen = 0, cleanCorrect = 0
    var skipped = 0
    let start = Date()

    /// Adversarial training accuracy so far (0 before the first image).
    var adversarial: Double { seen > 0 ? Double(advCorrect) / Double(seen) : 0 }
    /// Clean training accuracy so far (nil when not measured).
    var clean: Double? { cleanSeen > 0 ? Double(cleanCorrect) / Double(cleanSeen) : nil }
    /// Mean loss of the steps taken (NaN before the first).
    var meanLoss: Double { lossCount > 0 ? lossSum / Double(lossCount) : .nan }

    /// The epoch's summary from the steps taken so far.
    func summary(epoch: Int, validation: [(String, Double)], complete: Bool) -> EpochSummary {
        EpochSummary(epoch: epoch, loss: meanLoss, cleanAccuracy: clean, adversarialAccuracy: adversarial,
                     skippedSteps: skipped, seconds: Date().timeIntervalSince(start),
                     validation: validation, complete: complete)
    }
}

/// What one optimizer step did: its loss over the accumulated micro-batches, whether it stepped
/// and, when skipped, why.
struct StepOutcome {
    let lr: Double
    /// The loss scale its backward passes used (1 unless fp16).
    let scale: Double
    let start = Date()
    var loss = 0.0
    var badLoss = false
    var images = 0
    var stepped = false
    var why = ""
    /// Images attacked and adversarially correct; images measured clean and correct (summed
    /// over the processes of a data-parallel run before they enter the epoch's tally).
    var seen = 0, advCorrect = 0, cleanSeen = 0, cleanCorrect = 0
    /// Seconds spent summing over the processes after the last backward pass (the gradient
    /// buckets not finished during it and the step's numbers: the communication not overlapped).
    var syncSeconds = 0.0
}

extension Trainer {
    /// Optimizer steps of the whole run.
    var totalSteps: Int { epochs * stepsPerEpoch }
    /// Images one optimizer step trains on (over all processes).
    var imagesPerStep: Int { recipe.accumulation * source.batchSize * processes }
    var fp16: Bool { recipe.enginePrecision == .fp16 }
    /// Whether `maxSteps` ends the run after the step just taken.
    var maxStepsReached: Bool {
        guard let m = options.maxSteps else { return false }
        return position.globalStep >= m && position.globalStep < totalSteps
    }

    // MARK: resume

    /// Sets up the position of a new run and writes the log's start line, or continues from
    /// `options.resume` (checked against this run's experiment, epochs and seed).
    func resumeOrStart(schedule: LRSchedule) throws {
        position = TrainingPosition()
        position.epochs = epochs
        position.seed = options.seed
        position.lossScaler = LossScaler(scale: recipe.lossScale, growthInterval: recipe.lossScaleGrowth)
        if let l = options.log, rank == 0 { log = try JSONLinesLog(path: l) }
        let experiment = self.experiment
        position.experiment = experiment
        if let r = options.resume {
            try resume(from: r, experiment: experiment)
        } else {
            log?.write([("event", .string("start")), ("model", .string(model.name)), ("recipe", .string(recipe.name)),
                        ("epochs", .int(epochs)), ("steps_per_epoch", .int(stepsPerEpoch)),
                        ("global_batch", .int(recipe.globalBatch)), ("lr", .double(schedule.baseLR)),
                        ("attack", .string(attack?.name ?? "none")), ("precision", .string(recipe.precision))]
                       + (processes > 1 ? [("processes", .int(processes))] : []))
        }
        try broadcastWeights()
    }

    /// Loads the checkpoint `r` into the model, optimizer, EMA, position and random generators.
    /// A checkpoint of another split of the same global batch (its micro-batch of B x N images
    /// times its accumulation equals this run's) continues the same run: its position is
    /// converted from its optimizer steps (docs/distributed.md, "Checkpoints").
    func resume(from r: String, experiment: [(String, String)]) throws {
        var expect = experiment
        let split = try otherSplit(of: Checkpoint.experiment(at: r))
        if let s = split {
            expect = expect.map { k, v in k == "data batch" ? (k, String(s.micro)) : k == "recipe accumulation" ? (k, String(s.accumulation)) : (k, v) }
        }
        position = try Checkpoint.load(from: r, model: model, optimizer: optimizer, ema: ema,
                                       expect: expect, force: options.force)
        position.experiment = experiment
        if let s = split {
            guard position.batchInEpoch % s.accumulation == 0 else {
                throw EngineError.invalidArgument("fit: \(r) was written inside an optimizer step (micro-batch \(position.batchInEpoch), accumulation \(s.accumulation)); resume it with accumulation: \(s.accumulation)")
            }
            position.batchInEpoch = position.batchInEpoch / s.accumulation * recipe.accumulation
            progress.note("the checkpoint's steps of \(s.micro) x \(s.accumulation) images continue as \(source.batchSize * processes) x \(recipe.accumulation) (same global batch)")
        }
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
    }

    /// The checkpoint's micro-batch (B x N images) and accumulation when they differ from this
    /// run's but give the same global batch; nil otherwise (then the experiment check compares
    /// them as any other field and names the one that differs).
    func otherSplit(of was: [(String, String)]) -> (micro: Int, accumulation: Int)? {
        let old = Dictionary(was, uniquingKeysWith: { a, _ in a })
        guard let m = old["data batch"].flatMap({ Int($0) }), let a = old["recipe accumulation"].flatMap({ Int($0) }),
              m > 0, a > 0 else { return nil }
        let micro = source.batchSize * processes
        guard (m, a) != (micro, recipe.accumulation), m * a == micro * recipe.accumulation,
              experiment.contains(where: { $0.0 == "data batch" }) else { return nil }
        return (m, a)
    }

    /// Puts the model in the recipe's precision and the progress display at the run's position;
    /// returns what restores the model's mode and precision.
    func enterTraining() -> () -> Void {
        let wasTraining = model.isTraining, savedPrecision = model.precision
        model.precision = recipe.enginePrecision
        model.trainedPrecision = recipe.enginePrecision  // table() labels its rows with it ("Train Prec")
        progress.total = totalSteps * imagesPerStep
        progress.resume(from: position.globalStep * imagesPerStep)
        return { [model] in
            model.isTraining = wasTraining
            model.precision = savedPrecision
        }
    }

    // MARK: batch

    /// Configures the epoch's augmentation and returns its batches from the current position.
    func startEpoch(_ epoch: Int) throws -> BatchStream {
        if recipe.augmentationVariesWithin(epoch: epoch) {
            // A compressed augmentation warmup: settings per batch (Recipe.augmentation(position:)).
            let per = Double(source.batchesPerEpoch), r = recipe
            try source.configure(perBatch: { i in r.augmentation(position: Double(epoch) + Double(i) / per) })
        } else {
            try source.configure(recipe.augmentation(epoch: epoch))
        }
        return try source.batches(epoch: epoch, from: position.batchInEpoch)
    }

    /// The next mini-batch of the epoch (an error when the data ends early).
    func nextBatch(_ stream: BatchStream, epoch: Int) throws -> Batch {
        guard let batch = try stream.next() else {
            throw EngineError.io("fit: the data ended after \(position.batchInEpoch) batches of epoch \(epoch + 1), expected \(source.batchesPerEpoch)")
        }
        position.batchInEpoch += 1
        return batch
    }

    /// Stops when the log failed, and on Ctrl-C after saving a checkpoint (on several processes:
    /// when any process was asked to stop, all after the same step).
    func checkBetweenSteps(epoch: Int) throws {
        try stopIfLogFailed(epoch: epoch)
        do {
            if stopAgreed { throw EngineError.interrupted }
            try Interrupt.check()
        } catch {
            let saved = try saveCheckpoint(reason: "interrupt")
            progress.note("training interrupted at epoch \(epoch + 1), step \(position.globalStep)"
                          + (saved.map { "; checkpoint \($0) (continue with resume:)" } ?? ""))
            throw error
        }
    }

    // MARK: attack, forward and backward

    /// The forward and backward passes of one optimizer step over `recipe.accumulation`
    /// mini-batches, gradients left in the parameters. Ctrl-C inside (the attack checks for it)
    /// undoes the step, saves a checkpoint and throws `EngineError.interrupted`.
    func forwardBackward(_ stream: BatchStream, epoch: Int, lr: Double, tally: inout EpochTally) throws -> StepOutcome {
        var step = StepOutcome(lr: lr, scale: fp16 ? position.lossScaler.scale : 1)
        optimizer.zeroGrad()
        // What an interruption rolls back to, so the checkpoint equals the state between steps
        // and resuming stays bit-identical.
        let before = (position: position, attack: attackRNG.state, global: RNG.global.state,
                      buffers: model.buffers().map { $0.tensor.copy() })
        gradientSync?.begin()
        do {
            for m in 0..<recipe.accumulation {
                // Only the last micro-batch's backward communicates (DDP's no_sync for the others).
                let ready = m == recipe.accumulation - 1 ? gradientSync?.readyHook : nil
                try train(on: nextBatch(stream, epoch: epoch), epoch: epoch, step: &step, gradientReady: ready)
            }
            try synchronize(&step)
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
        tally.seen += step.seen; tally.advCorrect += step.advCorrect
        tally.cleanSeen += step.cleanSeen; tally.cleanCorrect += step.cleanCorrect
        return step
    }

    /// The attack's images for `batch` (the clean images without an attack); each image's
    /// random start comes from its own generator, keyed by its position in the epoch.
    func adversarialImages(_ batch: Batch, starts: [RNG]) throws -> Tensor {
        try attack?.perturb(model, batch.images, labels: batch.labels, targets: batch.targets, rng: attackRNG,
                            imageRNGs: starts) ?? batch.images
    }

    /// One mini-batch: clean accuracy when due, the attack, the training-mode forward, the loss
    /// and its backward (seeded with the loss scale over the accumulation). After a non-finite
    /// loss the step's remaining mini-batches run forward only. The random start and drop path
    /// of each image come from generators keyed by (seed, epoch, its position in the epoch).
    /// `gradientReady` goes to the backward pass (data-parallel gradient buckets, GradientSync).
    func train(on batch: Batch, epoch: Int, step: inout StepOutcome, gradientReady: ((Tensor) -> Void)? = nil) throws {
        let n = batch.labels.count
        step.images += n
        // Due on the first step of each epoch and every cleanAccuracyEvery steps of it (the batch
        // was counted in batchInEpoch already).
        let every = options.cleanAccuracyEvery
        if every > 0 && ((position.batchInEpoch - 1) / recipe.accumulation) % every == 0 {
            step.cleanCorrect += try Trainer.correct(model, batch.images, batch.labels)
            step.cleanSeen += n
        }
        let positions = imagePositions(count: n)
        let xAdv = try adversarialImages(batch, starts: imageRNGs(epoch: epoch, positions: positions, tag: 0x5354_4152))
        model.isTraining = true
        let sync = batchNormSync()
        let logits = try SampleRNGs.with(imageRNGs(epoch: epoch, positions: positions, tag: 0x4452_4F50)) {
            try BatchNormSync.with(sync?.sum) { try model.forward(xAdv) }
        }
        let loss = try batch.targets.map { try Tensor.crossEntropy(logits, targets: $0) }
            ?? Tensor.crossEntropy(logits, labels: batch.labels, labelSmoothing: Float(recipe.labelSmoothing))
        let value = Double(loss.item)
        step.advCorrect += try Trainer.matches(logits, batch.labels)
        step.seen += n
        let accumulation = Double(recipe.accumulation)
        let seed = Tensor(shape: loss.shape, repeating: Float(step.scale / accumulation))
        if !value.isFinite || step.badLoss {
            step.badLoss = true
            step.loss = value
            // The other processes' synchronized BatchNorm waits for this backward; the step is skipped anyway.
            if sync != nil { try loss.backward(seed: seed, gradientReady: gradientReady) }
            try sync?.check()
            return
        }
        step.loss += value / accumulation
        try loss.backward(seed: seed, gradientReady: gradientReady)
        try sync?.check()
    }

    // MARK: step with loss scaling

    /// Unscales the gradients and decides whether the optimizer may step: not after a
    /// non-finite loss or with non-finite gradients (`step.why` says which); under fp16 the
    /// loss scaler decides and an overflow is noted (a skip that is not a bad step).
    func gradientsUsable(_ step: inout StepOutcome, epoch: Int) -> Bool {
        if step.badLoss {
            step.why = "loss is \(step.loss)"
            return false
        }
        let params = optimizer.allParameters
        if step.scale != 1 { GradientTools.scale(params, by: Float(1 / step.scale)) }
        let finite = GradientTools.allFinite(params)
        if fp16 {
            if position.lossScaler.update(gradientsFinite: finite) { return true }
            progress.note("epoch \(epoch + 1) step \(position.globalStep): fp16 gradient overflow, step skipped, loss scale now \(fmt(position.lossScaler.scale))")
            log?.write([("event", .string("overflow")), ("global_step", .int(position.globalStep)),
                        ("loss_scale", .double(position.lossScaler.scale))])
            return false
        }
        if !finite { step.why = "gradients are not finite" }
        return finite
    }

    /// Steps the optimizer (clipping first, then the EMA) when the gradients are usable, else
    /// counts a skipped step; clears the gradients and advances the global step.
    func applyStep(_ step: inout StepOutcome, epoch: Int, tally: inout EpochTally) throws {
        step.stepped = gradientsUsable(&step, epoch: epoch)
        if step.stepped {
            if let c = recipe.gradClip { GradientTools.clip(optimizer.allParameters, maxNorm: c) }
            try optimizer.step(lr: step.lr)
            try ema?.update(from: model)
            position.badSteps = 0
            tally.lossSum += step.loss; tally.lossCount += 1
        } else if !step.why.isEmpty {
            position.badSteps += 1
            tally.skipped += 1
            progress.note("epoch \(epoch + 1) step \(position.globalStep): \(step.why); step skipped (\(position.badSteps) in a row)")
            log?.write([("event", .string("skipped")), ("global_step", .int(position.globalStep)), ("reason", .string(step.why))])
        }
        optimizer.zeroGrad()
        position.globalStep += 1
    }

    // MARK: log

    /// Records the step in the result's history, the JSON-lines log and the progress line.
    func report(_ step: StepOutcome, epoch: Int, tally: EpochTally, runStart: Date, result: inout FitResult) {
        let dt = Date().timeIntervalSince(step.start)
        let elapsed = Date().timeIntervalSince(runStart)
        let adv = tally.adversarial, clean = tally.clean
        let stepInEpoch = position.batchInEpoch / recipe.accumulation
        result.history.append(StepRecord(globalStep: position.globalStep, epoch: Double(epoch) + Double(stepInEpoch) / Double(max(1, stepsPerEpoch)),
                                         loss: step.loss, lr: step.lr, clean: clean, adv: adv))
        // The log uses the result's units and numbering: percent, epochs and steps from 1.
        log?.write([("epoch", .int(epoch + 1)), ("step", .int(stepInEpoch)), ("global_step", .int(position.globalStep)),
                    ("loss", .double(step.loss)), ("lr", .double(step.lr)), ("clean", clean.map { .double(100 * $0) } ?? .null),
                    ("adv", .double(100 * adv)), ("images_per_s", .double(Double(step.images) / max(dt, 1e-9))),
                    ("skipped", .bool(!step.stepped)), ("loss_scale", .double(step.scale)), ("seconds", .double(elapsed))]
                   + (processes > 1 ? [("allreduce_seconds", .double(step.syncSeconds))] : []))
        progress.update(position.globalStep * imagesPerStep,
                        metric: String(format: "epoch %d/%d step %d/%d loss %.4f clean %@ adv %.1f%% lr %.3g",
                                       epoch + 1, epochs, stepInEpoch, stepsPerEpoch, tally.meanLoss,
                                       clean.map { String(format: "%.1f%%", 100 * $0) + cleanSampling } ?? "-", 100 * adv, step.lr),
                        force: stepInEpoch == stepsPerEpoch)
    }

    // MARK: checkpoint and stop

    /// Ends the run with `EngineError.numeric` after `options.maxBadSteps` skipped steps in a row.
    func stopOnBadSteps(_ step: StepOutcome, epoch: Int) throws {
        guard position.badSteps >= options.maxBadSteps else { return }
        let where_ = options.checkpoint.map { "; the last good weights are in \($0)" } ?? ""
        throw EngineError.numeric("fit: training stopped at epoch \(epoch + 1), step \(position.globalStep): \(position.badSteps) steps in a row had \(step.why)\(where_). Lower the learning rate or use precision \"bf16\"/\"fp32\".")
    }

    /// Ends a run stopped by `maxSteps`: saves the checkpoint to resume from.
    func stopEarly(_ result: FitResult) throws -> FitResult {
        var result = result
        result.checkpoint = try saveCheckpoint(reason: "max_steps")
        result.steps = position.globalStep
        result.stoppedEarly = true
        progress.note("stopped after \(position.globalStep) steps (max_steps)")
        return result
    }

    /// Ends an epoch: advances the position, validates, records and prints its summary.
    func endEpoch(_ epoch: Int, tally: EpochTally, result: inout FitResult) throws {
        position.epoch += 1
        position.batchInEpoch = 0
        var validation: [(String, Double)] = []
        if let v = options.validate {
            validation = try Autograd.noGrad { try v(model) }
            log?.write([("event", .string("validation")), ("epoch", .int(epoch + 1))] + validation.map { ($0.0, LogValue.double(100 * $0.1)) })
        }
        let done = tally.summary(epoch: epoch, validation: validation, complete: true)
        result.epochs.append(done)
        let vtext = validation.map { String(format: " %@ %.2f%%", $0.0, 100 * $0.1) }.joined()
        progress.note(String(format: "epoch %d/%d done: loss %.4f clean %@ adv %.1f%%%@ (%@)", epoch + 1, epochs, done.loss,
                             done.cleanAccuracy.map { String(format: "%.1f%%", 100 * $0) + cleanSampling } ?? "-",
                             100 * done.adversarialAccuracy, vtext, Progress.duration(done.seconds)))
    }

    /// Ends the run: copies the EMA weights into the model, records the final metrics (those a
    /// finished run recorded when it is resumed with nothing left to train), saves the final
    /// checkpoint and writes the log's end line.
    func finish(_ result: FitResult, runStart: Date) throws -> FitResult {
        var result = result
        if let e = ema { try e.copy(into: model) }
        if let last = result.epochs.last {
            position.finalLoss = last.loss
            position.finalClean = last.cleanAccuracy
            position.finalAdv = last.adversarialAccuracy
        } else if position.finalLoss != nil || position.finalAdv != nil {
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
}
