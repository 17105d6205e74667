// Builtins: the AutoAttack suite (apgd_t, fab, square, autoattack) and attacks written in the
// language (attack). Argument names follow the references where users already know them:
// torchattacks/AutoAttack's n_iter, n_queries, n_restarts, n_target_classes are accepted as
// aliases, norms as "linf"/"l2" or AutoAttack's "Linf"/"L2".
import Engine
import Tensor
import Foundation

enum AutoAttackBuiltins {
    static func register(into t: inout BuiltinTable) {
        t.add("apgd_t", "apgd_t(eps, steps: 100, targets: 9, restarts: 1, norm: \"linf\", n_iter: nil, n_target_classes: nil, n_restarts: nil)",
              doc: "AutoAttack's APGD-T (APGDAttack_targeted; torchattacks APGDT).\n\nAPGD on the targeted DLR loss -(z_y - z_t) / (z_(1) - (z_(3) + z_(4)) / 2), run once per target class t = the 2nd, 3rd, ..., (targets+1)-th highest-scoring class of the clean image, each run only on the examples still robust; success is any misclassification. `steps` per run (alias n_iter), `targets` (alias n_target_classes), `restarts` per target (alias n_restarts), norm \"linf\" | \"l2\" (or \"Linf\" | \"L2\"). Needs >= 4 classes. eps in pixel space. Name in tables: APGD-T.") { args, _ in
            var a = args
            a.callee = "apgd_t"
            try a.check(allowed: ["eps", "steps", "n_iter", "targets", "n_target_classes", "restarts", "n_restarts", "norm"], maxPositional: 1)
            let norm = try normArg(a)
            let eps = try epsArg(a, norm: norm)
            let steps = try intAlias(a, "steps", "n_iter", default: 100)
            let targets = try intAlias(a, "targets", "n_target_classes", default: 9)
            let restarts = try intAlias(a, "restarts", "n_restarts", default: 1)
            return .object(AttackObject(try engine {
                try APGDTargeted(eps: Float(eps), steps: steps, targets: targets, restarts: restarts, norm: norm)
            }))
        }

        t.add("fab", "fab(eps, targeted: false, targets: 9, steps: 100, restarts: 1, norm: \"linf\", n_iter: nil, n_target_classes: nil, n_restarts: nil)",
              doc: "FAB, the fast adaptive boundary attack (AutoAttack's fab_pt.py; torchattacks FAB).\n\nA minimum-norm attack that linearises the decision boundary, projects the iterate and the clean image onto it within [0, 1], and steps to a mix of the two (alpha_max 0.1, overshoot eta 1.05, backward step beta 0.9); an example counts as broken only if the closest misclassifying point found is within eps. `targeted: true` is FAB-T as in AutoAttack standard (the boundary towards each of the `targets` (alias n_target_classes) highest-ranked other classes in turn, on the examples still robust); untargeted uses the closest boundary over all classes (one gradient per class per step). `steps` (alias n_iter), `restarts` (alias n_restarts; later restarts start at a random point eps/2 away), norm \"linf\" | \"l2\". Names in tables: FAB-T, FAB.") { args, _ in
            var a = args
            a.callee = "fab"
            try a.check(allowed: ["eps", "targeted", "targets", "n_target_classes", "steps", "n_iter", "restarts", "n_restarts", "norm"], maxPositional: 1)
            let norm = try normArg(a)
            let eps = try epsArg(a, norm: norm)
            let targeted = try a.bool("targeted", default: false)
            let targets = try intAlias(a, "targets", "n_target_classes", default: 9)
            if !targeted && (a.has("targets") || a.has("n_target_classes")) {
                throw RuntimeError.arguments("fab: 'targets' applies to the targeted attack; add targeted: true")
            }
            let steps = try intAlias(a, "steps", "n_iter", default: 100)
            let restarts = try intAlias(a, "restarts", "n_restarts", default: 1)
            return .object(AttackObject(try engine {
                try FAB(eps: Float(eps), steps: steps, targets: targeted ? targets : nil, restarts: restarts, norm: norm)
            }))
        }

        t.add("square", "square(eps, queries: 5000, p_init: 0.8, restarts: 1, norm: \"linf\", rescale_schedule: false, n_queries: nil, n_restarts: nil)",
              doc: """
                  The Square attack (AutoAttack's square.py; torchattacks Square): a score-based
                  random search that uses no gradients, only the model's logits, so gradient masking
                  does not stop it.

                  L-inf: start at vertical stripes of +-eps, then each query changes one random
                  square window (side from p_init's schedule, shrinking at queries 10, 50, 200, 500,
                  1000, 2000, 4000, 6000, 8000) to +-eps and keeps it per image when the margin z_y
                  - max_{j != y} z_j falls. L2: eta-shaped blocks at norm eps. `queries` per image
                  (alias n_queries), `restarts` (alias n_restarts), `rescale_schedule: true`
                  stretches the schedule to `queries` (torchattacks' default; AutoAttack uses
                  false). Deterministic from seed(n). Name in tables: Square.
                  """) { args, _ in
            var a = args
            a.callee = "square"
            try a.check(allowed: ["eps", "queries", "n_queries", "p_init", "restarts", "n_restarts", "norm", "rescale_schedule"], maxPositional: 1)
            let norm = try normArg(a)
            let eps = try epsArg(a, norm: norm)
            let queries = try intAlias(a, "queries", "n_queries", default: 5000)
            let p = try a.number("p_init", default: 0.8)
            let restarts = try intAlias(a, "restarts", "n_restarts", default: 1)
            let resc = try a.bool("rescale_schedule", default: false)
            return .object(AttackObject(try engine {
                try Square(eps: Float(eps), queries: queries, pInit: Float(p), restarts: restarts, norm: norm, rescaleSchedule: resc)
            }))
        }

        t.add("autoattack", "autoattack(eps, norm: \"linf\", version: \"standard\", verbose: true)",
              doc: "AutoAttack (Croce & Hein 2020) as autoattack.py composes it.\n\nversion \"standard\": APGD-CE (100 iterations), APGD-T (9 target classes), FAB-T (9 targets), Square (5000 queries, p_init 0.8); \"plus\": APGD-CE and APGD-DLR with 5 restarts, FAB (untargeted, 5 restarts), Square, APGD-T, FAB-T; \"rand\": APGD-CE and APGD-DLR averaging 20 gradients per step (for randomised defences). Each member runs only on the examples every earlier one failed to break; an example is robust only if all fail. norm \"linf\" | \"l2\" (or \"Linf\" | \"L2\"); eps in pixel space (4/255, 8/255; an L-inf eps above 1 is refused). `verbose` prints a line per member and batch to stderr (the reference's \"robust accuracy after APGD-CE\") through the progress display, so `progress: false` or ADV_PROGRESS=0 silences it. Use it as any attack: evaluate(m, test, attack: autoattack(eps: 4/255)) gives a row named AutoAttack; benchmark() reports it as RobustBench does.") { args, _ in
            var a = args
            a.callee = "autoattack"
            try a.check(allowed: ["eps", "norm", "version", "verbose"], maxPositional: 1)
            let norm = try normArg(a)
            let eps = try epsArg(a, norm: norm)
            let version = AutoAttack.Version(rawValue: try a.choice("version", AutoAttack.Version.allCases.map(\.rawValue), default: "standard")) ?? .standard
            let verbose = try a.bool("verbose", default: true)
            return .object(AttackObject(try engine {
                try AutoAttack(eps: Float(eps), norm: norm, version: version, verbose: verbose)
            }))
        }

        t.add("attack", "attack(f, name:, eps:, norm: \"linf\", steps: nil, restarts: 1)",
              doc: "Turns a function fn(m, x, y) -> x_adv written in the language into an attack that evaluate, sweep, worst_of and fit accept like the builtin ones (restarts, sanity checks, resume, progress, table name `name`).\n\nfn gets the model (in evaluation mode), clean images x (N, C, H, W) and true labels y, and returns adversarial images of the same shape. If fn declares a parameter `eps` (or `steps`), it is passed the attack's eps (steps), so sweep and the sanity checks can vary them. Every returned image is checked: a pixel outside [0, 1] or an image outside the eps-ball (norm \"linf\" | \"l2\") is an error naming the attack and the largest violation. `restarts` > 1 calls fn again on the examples not yet fooled and keeps each example's worst case. Random numbers drawn inside fn come from a generator seeded by the evaluation, so results are reproducible.") { args, ctx in
            var a = args
            a.callee = "attack"
            try a.check(allowed: ["f", "name", "eps", "norm", "steps", "restarts"], maxPositional: 1)
            guard let fn = a.value("f", at: 0) else { throw RuntimeError.arguments("attack: missing the function fn(m, x, y) -> x_adv") }
            switch fn {
            case .function, .builtin: break
            default: throw RuntimeError.type("attack: argument 'f' must be a function fn(m, x, y) -> x_adv, got \(fn.typeName)")
            }
            let name = try a.string("name")
            guard !name.isEmpty else { throw RuntimeError.arguments("attack: 'name' must not be empty (it names the attack in tables)") }
            let norm = try normArg(a)
            let eps = try epsArg(a, norm: norm, at: nil)
            var steps: Int? = nil
            if a.has("steps") {
                steps = try a.int("steps")
                guard steps! >= 0 else { throw RuntimeError.arguments("attack: steps must be >= 0, got \(steps!)") }
            }
            let restarts = try a.int("restarts", default: 1)
            guard restarts >= 1 else { throw RuntimeError.arguments("attack: restarts must be >= 1, got \(restarts)") }
            return .object(AttackObject(ScriptAttack(fn: fn, name: name, eps: Float(eps), norm: norm, steps: steps,
                                                     restarts: restarts, ctx: ctx)))
        }
        registerBenchmark(into: &t)
    }

    /// benchmark(m, data, threat:, eps:, n:, ...): RobustBench-style clean + AutoAttack record.
    static func registerBenchmark(into t: inout BuiltinTable) {
        t.add("benchmark", "benchmark(m, data, threat: \"Linf\", eps:, n: 1000, version: \"standard\", dataset: \"custom\", batch: 128, save: nil, progress: true, sanity: true)",
              doc: "A RobustBench-style evaluation of `m` on `data`: clean and AutoAttack accuracy, as RobustBench reports it.\n\nClean accuracy and AutoAttack (`version`, standard by default) robust accuracy of `m` on the first `n` images of `data` (a Dataset or a {train, test} record: its test split), under threat \"Linf\" or \"L2\" (any case) with radius `eps` in pixel space (8/255). Returns a record with RobustBench's model-entry fields {name, architecture, dataset, threat_model, eps (\"8/255\"), clean_acc, autoattack_acc, additional_data, number_forward_passes} (accuracies in percent) plus this run's {n_examples, version, robust_accuracy_after (per member, as the reference prints \"robust accuracy after APGD-CE\"), seconds_per_attack, seconds, warnings}. `save: \"path.json\"` writes the entry atomically as JSON, with clean_acc and autoattack_acc as two-decimal strings like RobustBench's files. Progress per member attack goes to stderr. Deterministic from seed(n).") { args, _ in
            var a = args
            a.callee = "benchmark"
            try a.check(allowed: ["m", "data", "threat", "eps", "n", "version", "dataset", "batch", "save", "progress", "sanity"], maxPositional: 2)
            let m = try a.object("m", at: 0, as: ModelObject.self, expected: "a model").model
            let data = try AttackBuiltins.dataset(a)
            let norm = try normArg(a, "threat")
            let eps = try epsArg(a, norm: norm, at: nil)
            let n = try a.int("n", default: 1000)
            guard n >= 1 else { throw RuntimeError.arguments("benchmark: n must be >= 1, got \(n)") }
            let version = AutoAttack.Version(rawValue: try a.choice("version", AutoAttack.Version.allCases.map(\.rawValue), default: "standard")) ?? .standard
            let name = try a.string("dataset", default: "custom")
            var o = EvalOptions()
            o.batch = try a.int("batch", default: 128)
            guard o.batch >= 1 else { throw RuntimeError.arguments("benchmark: batch must be >= 1, got \(o.batch)") }
            o.progress = try a.bool("progress", default: true)
            o.sanity = try a.bool("sanity", default: true)
            let save = a.has("save") ? try a.string("save") : nil
            let r = try engine {
                try Benchmark.run(m, data, dataset: name, norm: norm, eps: Float(eps), n: n, version: version, options: o, rng: RNG.global)
            }
            if let path = save {
                try engine { try AtomicFile.write(try r.json(), to: path) }
            }
            return .record(RecordBox([
                ("name", .string(r.name)), ("architecture", .string(r.architecture)), ("dataset", .string(r.dataset)),
                ("threat_model", .string(r.threatModel)), ("eps", .string(r.epsText)),
                ("clean_acc", .number(r.clean)), ("autoattack_acc", .number(r.robust)),
                ("additional_data", .bool(false)), ("number_forward_passes", .number(1)),
                ("n_examples", .number(Double(r.examples))), ("version", .string(r.version)),
                ("robust_accuracy_after", .record(RecordBox(r.members.map { ($0.name, Value.number($0.robustAfter)) }))),
                ("seconds_per_attack", .record(RecordBox(r.members.map { ($0.name, Value.number($0.seconds)) }))),
                ("seconds", .number(r.seconds)), ("warnings", .list(ListBox(r.warnings.map { .string($0) }))),
            ]))
        }
    }

    // MARK: argument helpers shared by the attack builtins

    /// The threat model's norm: "linf" | "l2", also AutoAttack's "Linf" | "L2" (any case).
    static func normArg(_ a: Arguments, _ name: String = "norm") throws -> AttackNorm {
        guard a.has(name) else { return .linf }
        let s = try a.string(name)
        if let n = AttackNorm(rawValue: s.lowercased()) { return n }
        var msg = "\(a.callee): argument '\(name)' must be \"linf\" or \"l2\" (AutoAttack's \"Linf\", \"L2\" also work), got \"\(s)\""
        if let n = nearest(s.lowercased(), in: ["linf", "l2"]) { msg += "; did you mean \"\(n)\"?" }
        throw RuntimeError.arguments(msg)
    }

    /// eps in pixel space: finite, >= 0, and for L-inf at most 1 (a larger value is almost
    /// always an eps in 0-255 units: the error suggests eps/255).
    static func epsArg(_ a: Arguments, norm: AttackNorm, at index: Int? = 0, _ name: String = "eps") throws -> Double {
        let eps = try a.number(name, at: index)
        guard eps >= 0 else { throw RuntimeError.arguments("\(a.callee): \(name) must be >= 0, got \(formatNumber(eps))") }
        if norm == .linf && eps > 1 {
            throw RuntimeError.arguments("\(a.callee): an L-inf \(name) of \(formatNumber(eps)) is larger than the whole pixel range: eps is in pixel space (images in [0, 1]); did you mean \(formatNumber(eps))/255 = \(String(format: "%.6g", eps / 255))?")
        }
        return eps
    }

    /// An integer given under its name or a reference alias (e.g. steps / n_iter), not both.
    static func intAlias(_ a: Arguments, _ name: String, _ alias: String, default d: Int) throws -> Int {
        if a.has(name) && a.has(alias) {
            throw RuntimeError.arguments("\(a.callee): give either '\(name)' or its alias '\(alias)', not both")
        }
        return a.has(alias) ? try a.int(alias) : try a.int(name, default: d)
    }
}
