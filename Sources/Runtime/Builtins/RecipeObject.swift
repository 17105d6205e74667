// The script-side training recipe: `recipe(...)` builds one from named options (one per row of
// the study's recipe table), `r.epochs` reads a field, `r.with(epochs: 3)` gives a modified copy,
// and printing shows the recipe as a column of the study's table.
import Engine
import Tensor

/// One script-visible field of a recipe: its option name, how to read it, how to set it from arguments.
struct RecipeField {
    let name: String
    let doc: String
    let get: (Recipe) -> Value
    let set: (inout Recipe, Arguments) throws -> Void
}

public final class RecipeObject: HostObject {
    public let recipe: Recipe
    public init(_ recipe: Recipe) { self.recipe = recipe }
    public var typeName: String { "Recipe" }

    /// Nested (in a list or record): `Recipe(convnext-tiny)`; top level: the table column.
    public func describe(depth: Int) -> String {
        if depth > 0 { return "Recipe(\(recipe.name))" }
        let rows = recipe.tableRows
        let w = rows.map(\.label.count).max() ?? 0
        return rows.map { $0.label.padding(toLength: w, withPad: " ", startingAt: 0) + " | " + $0.value }
            .joined(separator: "\n")
    }

    public var memberNames: [String] { RecipeObject.members.names }
    public func member(_ name: String) throws -> Value? { try RecipeObject.members.value(name, of: self) }

    /// Every option as a named parameter with its default, for the signatures of `recipe(...)`
    /// and `r.with(...)`: "name: \"\", ..., epochs: 300, ...".
    static let optionParameters: String = {
        let d = Recipe()
        return fields.map { "\($0.name): \($0.get(d).repr())" }.joined(separator: ", ")
    }()

    /// Fields (the options, then derived values) and methods, declared once (Members.swift).
    static let members: Members<RecipeObject> = {
        var t = Members<RecipeObject>("Recipe")
        for f in fields { t.field(f.name) { f.get($0.recipe) } }
        t.add("with", "r.with(\(optionParameters))", doc: """
            A copy of the recipe with the given options changed (the same options as `recipe(...)`;
            the defaults shown are those of a new recipe, the copy keeps the others).
            """) { o, a, _ in
            var copy = o.recipe
            try RecipeObject.apply(a, to: &copy)
            return .object(RecipeObject(copy))
        }
        t.field("global_batch") { .number(Double($0.recipe.globalBatch)) }
        t.field("scaled_lr") { .number($0.recipe.scaledLR) }
        t.add("scaled", "r.scaled(epochs:, batch:)", doc: """
            The recipe scaled to a run of `epochs` epochs at global batch `batch` by one rule.

            The rule (docs/reference.md section 6): the peak rate keeps the linear scaling rule (lr at lr_batch), warmup_lr and min_lr are
            multiplied by batch / the recipe's global batch (the warmup never runs downward), and every
            schedule in epochs (warmup_epochs, decay_epochs, the augmentation warmup via aug_warmup_scale) by
            epochs / the recipe's epochs. One worker, no accumulation. Printing the result shows what the
            scaled run does.
            """) { o, a, _ in
            let e = try a.int("epochs"), b = try a.int("batch")
            do { return .object(RecipeObject(try o.recipe.scaled(epochs: e, batch: b))) } catch let err as EngineError {
                throw RuntimeError.arguments("Recipe.scaled: \(err.description)")
            }
        }
        t.add("augmentation", "r.augmentation(epoch)", doc: """
            The data-augmentation settings at epoch `epoch` as a record.

            `epoch` is 0-based; a fraction gives a point inside an epoch, where a scaled recipe's
            compressed warmup changes the settings batch by batch. The record has randaugment magnitude (nil when off), mixup and cutmix alphas, mixing and switch probabilities,
            with the augmentation warmup applied when the recipe has `aug_warmup: true`.
            """) { o, a, _ in
            let e = try a.number("epoch", at: 0)
            guard e >= 0, e <= 1e9 else { throw RuntimeError.arguments("Recipe.augmentation: epoch must be in [0, 1e9], got \(e)") }
            let s = o.recipe.augmentation(position: e)
            return .record(RecordBox([
                ("randaugment", s.randAugmentMagnitude.map { .number($0) } ?? .nil_),
                ("mstd", .number(s.randAugmentStd)),
                ("mixup", .number(s.mixupAlpha)), ("cutmix", .number(s.cutmixAlpha)),
                ("mix_prob", .number(s.mixProb)), ("switch_prob", .number(s.switchProb)),
            ]))
        }
        t.add("lr_at", "r.lr_at(step, steps_per_epoch:)", doc: """
            The learning rate of optimizer step `step` (0-based) in a run of the recipe's epochs with
            `steps_per_epoch` steps each: linear warmup, then cosine or step decay, after the linear scaling
            rule.
            """) { o, a, _ in
            let step = try a.int("step", at: 0)
            let spe = try a.int("steps_per_epoch")
            return .number(try engine { try o.recipe.lrSchedule(stepsPerEpoch: spe).lr(at: step) })
        }
        t.field("table") { .string(Recipe.table([$0.recipe])) }
        return t
    }()

    /// Sets every field named in `args` (unknown names are rejected by the caller's `check`).
    static func apply(_ args: Arguments, to r: inout Recipe) throws {
        for f in fields where args.value(f.name) != nil { try f.set(&r, args) }
        do { try r.validate() } catch let e as EngineError { throw RuntimeError.arguments("\(args.callee): \(e.description)") }
    }

    static func num(_ f: String, _ kp: WritableKeyPath<Recipe, Double>, _ doc: String) -> RecipeField {
        RecipeField(name: f, doc: doc, get: { .number($0[keyPath: kp]) }, set: { r, a in r[keyPath: kp] = try a.number(f) })
    }
    static func int(_ f: String, _ kp: WritableKeyPath<Recipe, Int>, _ doc: String) -> RecipeField {
        RecipeField(name: f, doc: doc, get: { .number(Double($0[keyPath: kp])) }, set: { r, a in r[keyPath: kp] = try a.int(f) })
    }
    static func str(_ f: String, _ kp: WritableKeyPath<Recipe, String>, _ doc: String, choices: [String]? = nil) -> RecipeField {
        RecipeField(name: f, doc: doc, get: { .string($0[keyPath: kp]) }, set: { r, a in
            if let c = choices { r[keyPath: kp] = try a.choice(f, c, default: c[0]) } else { r[keyPath: kp] = try a.string(f) }
        })
    }
    static func flag(_ f: String, _ kp: WritableKeyPath<Recipe, Bool>, _ doc: String) -> RecipeField {
        RecipeField(name: f, doc: doc, get: { .bool($0[keyPath: kp]) }, set: { r, a in r[keyPath: kp] = try a.bool(f, default: false) })
    }
    /// A number that may be switched off with `false` or `nil` ("no" in the table).
    static func optional(_ f: String, _ kp: WritableKeyPath<Recipe, Double?>, _ doc: String) -> RecipeField {
        RecipeField(name: f, doc: doc, get: { $0[keyPath: kp].map { .number($0) } ?? .bool(false) }, set: { r, a in
            switch a.value(f) {
            case .bool(false)?, .nil_?: r[keyPath: kp] = nil
            case .number(let d)?: r[keyPath: kp] = d
            case let v?: throw RuntimeError.type("\(a.callee): argument '\(f)' must be a number or false, got \(v.typeName)")
            case nil: break
            }
        })
    }

    /// Every option of `recipe(...)`, in the order of the study's table.
    static let fields: [RecipeField] = [
        str("name", \.name, "column title, e.g. \"convnext-tiny\""),
        str("activation", \.activation, "descriptive (the model decides)"),
        str("norm", \.normLayer, "descriptive (the model decides)"),
        int("epochs", \.epochs, "number of epochs"),
        int("batch", \.batch, "per-worker batch size"),
        int("workers", \.workers, "data-parallel workers the global batch counts"),
        int("accumulation", \.accumulation, "gradient-accumulation steps per optimizer step"),
        str("optimizer", \.optimizer, "\"adamw\" or \"sgd\"", choices: ["adamw", "sgd"]),
        num("momentum", \.momentum, "SGD momentum"),
        flag("nesterov", \.nesterov, "SGD Nesterov momentum"),
        RecipeField(name: "betas", doc: "AdamW betas [b1, b2]", get: { .list(ListBox($0.betas.map { .number($0) })) },
                    set: { r, a in r.betas = try a.numbers("betas") }),
        num("eps", \.eps, "AdamW eps"),
        num("lr", \.lr, "learning rate at lr_batch (the table's init lr (bs1024))"),
        int("lr_batch", \.lrBatch, "batch the lr is quoted for (1024)"),
        str("schedule", \.schedule, "\"cosine\" or \"step\"", choices: ["cosine", "step"]),
        num("min_lr", \.minLR, "final (cosine) or floor (step) learning rate"),
        num("decay_epochs", \.decayEpochs, "step schedule: epochs between decays"),
        num("decay_rate", \.decayRate, "step schedule: factor per decay"),
        num("warmup_epochs", \.warmupEpochs, "linear warmup length in epochs"),
        num("warmup_lr", \.warmupLR, "learning rate at the start of the warmup"),
        str("precision", \.precision, "\"bf16\", \"fp16\" or \"fp32\"", choices: ["fp32", "bf16", "fp16"]),
        num("weight_decay", \.weightDecay, "weight decay (not on 1-D parameters)"),
        num("label_smoothing", \.labelSmoothing, "label smoothing eps"),
        num("dropout", \.dropout, "dropout rate (pass to model(...))"),
        num("drop_path", \.dropPath, "stochastic depth rate (pass to model(...))"),
        flag("repeated_aug", \.repeatedAug, "repeated augmentation (not supported; must be false)"),
        optional("grad_clip", \.gradClip, "gradient-norm clip or false"),
        optional("ema", \.ema, "EMA decay of the weights or false"),
        RecipeField(name: "randaugment", doc: "timm RandAugment string (\"rand-m9-mstd0.5-inc1\") or false",
                    get: { $0.randAugment.map { .string($0.description) } ?? .bool(false) },
                    set: { r, a in
                        switch a.value("randaugment") {
                        case .bool(false)?, .nil_?: r.randAugment = nil
                        case .string(let s)?:
                            do { r.randAugment = try RandAugmentSpec(parsing: s) } catch let e as EngineError {
                                throw RuntimeError.arguments("\(a.callee): \(e.description)")
                            }
                        case let v?: throw RuntimeError.type("\(a.callee): argument 'randaugment' must be a string like \"rand-m9-mstd0.5-inc1\" or false, got \(v.typeName)")
                        case nil: break
                        }
                    }),
        flag("aug_warmup", \.augWarmup, "data-augmentation warmup of Bai et al."),
        flag("aug_warmup_dip", \.augWarmupDip, "the original code's mixup-prob dip at epochs 8, 9"),
        num("aug_warmup_scale", \.augWarmupScale, "run epochs per table epoch of the augmentation warmup (r.scaled sets it)"),
        num("mixup", \.mixup, "mixup alpha"),
        num("cutmix", \.cutmix, "cutmix alpha"),
        num("mix_prob", \.mixProb, "probability of mixing a batch"),
        num("switch_prob", \.switchProb, "probability of cutmix instead of mixup"),
        num("random_erasing", \.randomErasing, "random erasing probability"),
        num("loss_scale", \.lossScale, "fp16: initial loss scale"),
        int("loss_scale_growth", \.lossScaleGrowth, "fp16: clean steps before the scale doubles"),
    ]
}
