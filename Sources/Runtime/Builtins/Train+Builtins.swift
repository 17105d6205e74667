// Builtins: recipes and adversarial training (`recipe`, `recipe_table`, `fit`).
import Engine
import Tensor
import Foundation

/// Script objects that carry an engine attack (the attack builtins' objects conform).
public protocol AttackCarrier: AnyObject { var attackValue: Attack { get } }
/// Script objects that carry a training batch source (the data pipeline's objects conform).
public protocol BatchSourceCarrier: AnyObject { var batchSource: BatchSource { get } }

enum TrainBuiltins {
    static func register(into t: inout BuiltinTable) {
        t.add("recipe", "recipe(\(RecipeObject.optionParameters))",
              doc: """
                  A training recipe with one named option per row of the study's recipe table.

                  Epochs, batch (per worker), optimizer ("adamw" | "sgd", with momentum/nesterov/betas/eps),
                  lr (quoted at lr_batch, 1024: the peak rate is lr * batch * workers * accumulation /
                  lr_batch), schedule ("cosine" | "step" with decay_epochs/decay_rate), min_lr,
                  warmup_epochs and warmup_lr (linear per-step warmup from warmup_lr), precision ("bf16" |
                  "fp16" | "fp32"), weight_decay (never on biases and norm parameters), label_smoothing,
                  dropout and drop_path (rates to give model(...)), repeated_aug, grad_clip and ema (a
                  number or false), randaugment (timm string such as "rand-m9-mstd0.5-inc1" or false),
                  aug_warmup (Bai et al.'s augmentation warmup; aug_warmup_dip adds the original code's
                  dip), mixup, cutmix, mix_prob, switch_prob, random_erasing, workers, accumulation, name.
                  Unset options take neutral defaults (AdamW, lr 1e-3, cosine, fp32, no augmentation).
                  Printing a recipe shows it as a column of the study's table; `r.with(...)` gives a changed
                  copy; the study's five columns are in `use recipes`.
                  """) { a, _ in
            var r = Recipe()
            try RecipeObject.apply(a, to: &r)
            return .object(RecipeObject(r))
        }

        t.add("recipe_table", "recipe_table(recipes)",
              doc: """
                  The recipes of a list side by side as a Markdown table with the rows of the study's recipe
                  table (one column per recipe), returned as a string; print it to show it.
                  """) { a, _ in
            let items = try a.list("recipes", at: 0)
            let rs: [Recipe] = try items.map { v in
                guard case .object(let o) = v, let r = o as? RecipeObject else {
                    throw RuntimeError.type("recipe_table: every element must be a Recipe, got \(v.typeName)")
                }
                return r.recipe
            }
            return .string(Recipe.table(rs))
        }

        t.add("fit", "fit(m, data, recipe:, attack: nil, epochs: nil, checkpoint: nil, checkpoint_every: 0, log: nil, resume: nil, validate: nil, validate_attack: nil, validate_limit: 1000, seed: nil, crop: \"none\", flip: false, clean_every: 16, max_steps: nil, progress: true, force: false, sync_bn: false)",
              doc: """
                  Adversarially trains model `m` in place on `data` (a Dataset, a {train, test} record, or a
                  pipeline) with `recipe`.

                  For every batch `attack` (e.g. pgd(eps: 4/255, step: 4/255, steps: 1)) makes adversarial
                  images with the model in evaluation mode (soft targets when the batch is mixed), then the
                  model takes a training step on them at the scheduled learning rate, in the recipe's
                  precision. The recipe's augmentation (RandAugment, mixup/cutmix, warmup) is applied per
                  epoch (per batch while a compressed warmup runs); `crop` ("none" | "random_resized" |
                  "pad4") and `flip` add geometric augmentation. `epochs` overrides the recipe's. A progress
                  line goes to stderr. Clean training accuracy is measured without a graph on the first step of
                  each epoch and every `clean_every` steps (default 16, about 1% of a PGD-1 step's time; 1: every
                  step, 0: never); the progress line then says "(1 step in 16)". `log` appends one JSON line per step. `checkpoint` is written
                  atomically every `checkpoint_every` steps, at each epoch end and at the end; `resume: path`
                  continues such a run to bit-identical weights; it refuses a checkpoint written by a
                  different experiment (recipe, data set/size/count/seed/crop/flip, attack or model
                  options), naming the first difference, unless `force: true`; resuming a finished run
                  returns its recorded final loss and accuracies. `validate` (a Dataset, or true for
                  data.test) reports clean (and with `validate_attack` robust) accuracy after each epoch on
                  up to `validate_limit` images. NaN/inf losses skip the step; 5 in a row stop training.
                  Under `mpirun -np N` fit is data-parallel: the recipe's `workers` must equal N, each
                  process trains on its `batch` images of every global batch (batch x N x accumulation),
                  gradients are averaged, rank 0 writes the checkpoint and log; BatchNorm statistics are
                  per process unless `sync_bn: true` (docs/distributed.md).
                  Ctrl-C stops after the current step (saving the checkpoint). Returns a record {steps,
                  epochs, loss, clean, adv, validation, checkpoint, stopped_early, history}: `epochs` lists {epoch,
                  loss, clean, adv, skipped, seconds, complete, validation metrics} per epoch (when
                  `max_steps` stops the run inside an epoch, its last entry covers the steps that ran, with
                  complete: false); loss, clean and adv (percent) are the last entry's, validation the last
                  completed epoch's; `history` has one entry per step as lists {step, epoch, loss, lr, clean,
                  adv}, which plot(result) draws as training curves.
                  """) { a, ctx in
            return try fit(a)
        }
    }

    /// The recipe's `workers` must be the number of processes running (docs/distributed.md):
    /// its global batch and learning rate count them, so a mismatch would silently train at
    /// another learning rate than the log claims.
    static func checkWorkers(_ recipe: Recipe) throws {
        let n = Distributed.ranks
        guard recipe.workers == n else {
            throw RuntimeError.arguments("fit: the recipe has workers: \(recipe.workers) but this run has \(n) process\(n == 1 ? "" : "es") (workers counts the processes of `mpirun -np N`, the global batch \(recipe.globalBatch) and learning rate assume \(recipe.workers)); use recipe.with(workers: \(n)) or run on \(recipe.workers) process\(recipe.workers == 1 ? "" : "es")")
        }
    }

    /// The `fit` builtin.
    static func fit(_ a: Arguments) throws -> Value {
        let model = try a.object("m", at: 0, as: ModelObject.self, expected: "a model").model
        let recipe = try a.object("recipe", as: RecipeObject.self, expected: "a recipe (recipe(...) or recipes.study(...))").recipe
        try checkWorkers(recipe)
        let attack: Attack? = try a.has("attack") ? attackArgument(a, "attack") : nil
        let validateAttack: Attack? = try a.has("validate_attack") ? attackArgument(a, "validate_attack") : nil
        var opt = FitOptions()
        if a.has("epochs") {
            opt.epochs = try a.int("epochs")
            guard let e = opt.epochs, e >= 1 else { throw RuntimeError.arguments("fit: epochs must be >= 1") }
        }
        if a.has("checkpoint") { opt.checkpoint = try a.string("checkpoint") }
        opt.checkpointEvery = try a.int("checkpoint_every", default: 0)
        guard opt.checkpointEvery >= 0 else { throw RuntimeError.arguments("fit: checkpoint_every must be >= 0") }
        if opt.checkpointEvery > 0 && opt.checkpoint == nil {
            throw RuntimeError.arguments("fit: checkpoint_every needs checkpoint: PATH")
        }
        if a.has("log") { opt.log = try a.string("log") }
        if a.has("resume") { opt.resume = try a.string("resume") }
        opt.progress = try a.bool("progress", default: true)
        opt.force = try a.bool("force", default: false)
        opt.syncBN = try a.bool("sync_bn", default: false)
        opt.collective = Distributed.collective
        opt.overlapAllreduce = ProcessInfo.processInfo.environment["ADV_DDP_OVERLAP"] != "0"
        if opt.collective != nil { opt.stopRequested = { Distributed.stopRequested } }
        opt.cleanAccuracyEvery = try a.int("clean_every", default: FitOptions.defaultCleanAccuracyEvery)
        guard opt.cleanAccuracyEvery >= 0 else { throw RuntimeError.arguments("fit: clean_every must be >= 0") }
        if a.has("max_steps") {
            let m = try a.int("max_steps")
            guard m >= 1 else { throw RuntimeError.arguments("fit: max_steps must be >= 1, got \(m)") }
            opt.maxSteps = m
        }
        // The seed: given, or the one a resumed checkpoint was written with, or drawn from the global generator.
        if a.has("seed") {
            let s = try a.number("seed")
            guard s >= 0, s == s.rounded(), s < 1.8e19 else { throw RuntimeError.arguments("fit: seed must be a whole number >= 0") }
            opt.seed = UInt64(s)
        } else if let r = opt.resume {
            let meta = try engine { try Safetensors.read(r).metadata }
            guard let s = meta["seed"].flatMap({ UInt64($0) }) else {
                throw RuntimeError.arguments("fit: \(r) is not a training checkpoint (it has no seed)")
            }
            opt.seed = s
        } else {
            opt.seed = RNG.global.next()
        }

        // Data: a pipeline, a Dataset, or a {train, test} record.
        let dataValue = a.value("data", at: 1)
        var trainSet: Dataset?
        var testSet: Dataset?
        var source: BatchSource?
        switch dataValue {
        case .object(let o)?:
            if let d = o as? DatasetObject { trainSet = d.dataset }
            else if let p = o as? BatchSourceCarrier { source = p.batchSource }
        case .record(let r)?:
            if case .object(let o)? = r["train"], let d = o as? DatasetObject { trainSet = d.dataset }
            if case .object(let o)? = r["test"], let d = o as? DatasetObject { testSet = d.dataset }
        default: break
        }
        if let d = trainSet {
            let crop: CropMode
            switch try a.choice("crop", ["none", "random_resized", "pad4"], default: "none") {
            case "random_resized": crop = .randomResized()
            case "pad4": crop = .pad(4)
            default: crop = .none
            }
            source = try engine {
                try TrainPipeline(dataset: d, batch: recipe.batch, seed: opt.seed, size: model.inputShape.height,
                                  crop: crop, flip: try a.bool("flip", default: false))
            }
        }
        guard let src = source else {
            throw RuntimeError.type("fit: argument 'data' must be a Dataset, a {train, test} record or a pipeline, got \(dataValue?.typeName ?? "nothing")")
        }

        // Validation after each epoch.
        if let v = a.value("validate") {
            var valSet: Dataset?
            switch v {
            case .bool(true): valSet = testSet
                if valSet == nil { throw RuntimeError.arguments("fit: validate: true needs data with a test split; pass validate: DATASET") }
            case .bool(false), .nil_: valSet = nil
            case .object(let o):
                guard let d = o as? DatasetObject else { throw RuntimeError.type("fit: validate must be a Dataset or true, got \(v.typeName)") }
                valSet = d.dataset
            default: throw RuntimeError.type("fit: validate must be a Dataset or true, got \(v.typeName)")
            }
            let limit = try a.int("validate_limit", default: 1000)
            guard limit >= 1 else { throw RuntimeError.arguments("fit: validate_limit must be >= 1") }
            if let vs = valSet {
                let seed = opt.seed
                var epoch = 0
                opt.validate = { m in
                    epoch += 1
                    return try Validation.run(m, vs, attack: validateAttack, limit: limit, seed: seed &+ UInt64(epoch))
                }
            }
        } else if validateAttack != nil {
            throw RuntimeError.arguments("fit: validate_attack needs validate: DATASET (or true)")
        }

        let trainer = try engine { try Trainer(model: model, source: src, recipe: recipe, attack: attack, options: opt) }
        Distributed.fitRunning = true
        let result = try engine { try trainer.run() }
        Distributed.fitRunning = false
        // A stop requested during the run's last step: the run is complete, stop now.
        if Distributed.stopRequested { throw RuntimeError.interrupted }
        let last = result.epochs.last
        let epochs: [Value] = result.epochs.map { e in
            .record(RecordBox([("epoch", .number(Double(e.epoch + 1))), ("loss", .number(e.loss)),
                               ("clean", e.cleanAccuracy.map { .number(100 * $0) } ?? .nil_),
                               ("adv", .number(100 * e.adversarialAccuracy)), ("skipped", .number(Double(e.skippedSteps))),
                               ("seconds", .number(e.seconds)), ("complete", .bool(e.complete))] + e.validation.map { ($0.0, Value.number(100 * $0.1)) }))
        }
        return .record(RecordBox([
            ("steps", .number(Double(result.steps))),
            ("epochs", .list(ListBox(epochs))),
            ("loss", last.map { .number($0.loss) } ?? .nil_),
            ("clean", last?.cleanAccuracy.map { .number(100 * $0) } ?? .nil_),
            ("adv", last.map { .number(100 * $0.adversarialAccuracy) } ?? .nil_),
            ("validation", .record(RecordBox((result.epochs.last(where: \.complete)?.validation ?? []).map { ($0.0, Value.number(100 * $0.1)) }))),
            ("checkpoint", result.checkpoint.map { .string($0) } ?? .nil_),
            ("stopped_early", .bool(result.stoppedEarly)),
            ("history", historyValue(result.history)),
        ]))
    }

    /// Per-step metrics as a record of equal-length lists (percent accuracies, epochs from 1 at the
    /// end of the first epoch), the shape `plot(result)` draws as training curves.
    static func historyValue(_ h: [StepRecord]) -> Value {
        func col(_ f: (StepRecord) -> Double?) -> Value { .list(ListBox(h.map { f($0).map { .number($0) } ?? .nil_ })) }
        return .record(RecordBox([("step", col { Double($0.globalStep) }), ("epoch", col { $0.epoch }), ("loss", col { $0.loss }),
                                  ("lr", col { $0.lr }), ("clean", col { $0.clean.map { 100 * $0 } }), ("adv", col { 100 * $0.adv })]))
    }

    /// An attack argument: any script object carrying an engine attack.
    static func attackArgument(_ a: Arguments, _ name: String) throws -> Attack {
        guard let v = a.value(name) else { throw RuntimeError.arguments("\(a.callee): missing argument '\(name)'") }
        guard case .object(let o) = v, let c = o as? AttackCarrier else {
            throw RuntimeError.type("fit: argument '\(name)' must be an attack such as pgd(eps: 4/255, step: 4/255, steps: 1), got \(v.typeName)")
        }
        return c.attackValue
    }

}
