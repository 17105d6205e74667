// Builtins: attacks (fgsm, pgd, apgd, worst_of), evaluate, sweep, table.
import Engine
import Tensor
import Foundation

enum AttackBuiltins {
    static func register(into t: inout BuiltinTable) {
        t.add("fgsm", "fgsm(eps, target: nil)",
              doc: """
                  The fast gradient sign method: one step x + eps * sign(grad of the cross entropy), clipped
                  to [0, 1]. eps is in pixel space (images in [0, 1]; the model normalises inside), e.g.
                  4/255.

                  `target: c` makes it targeted (steps towards class c). Returns an attack; call it as a(m,
                  x, y) to get adversarial images, or pass it to evaluate/fit.
                  """) { a, _ in
            let eps = try AutoAttackBuiltins.epsArg(a, norm: .linf)
            let target = try optionalClass(a, "target")
            return .object(AttackObject(try engine { try FGSM(eps: Float(eps), targetClass: target) }, eps: eps))
        }

        t.add("pgd", "pgd(eps, step = eps/4, steps = 10, restarts: 1, random_start: true, norm: \"linf\", loss: \"ce\", target: nil, batched: \"auto\", alpha: nil)",
              doc: """
                  Projected gradient descent (torchattacks semantics).

                  Start at x + U(-eps, eps) (random_start), then `steps` times x <- clip_[0,1](proj_eps(x +
                  step * sign(grad))) (norm "l2": normalised gradient and L2 ball). eps and step are in
                  pixel space. loss "ce" (cross entropy; soft targets in training) or "dlr". `restarts` > 1
                  keeps the per-example worst case (robust only if no restart fools it); `batched` ("auto" |
                  "batched" | "sequential") runs all restarts as one larger batch, or one after another
                  (each on the examples still robust), or (auto) the first restart alone, then the others
                  over the examples not yet fooled in groups as large as the model's batch limit allows (128
                  images for the convolutional networks and Swin, 32 for DeiT: where batching measured
                  faster on this engine). All three run the same restarts with the same random starts and
                  pick the same worst case; the values agree up to float rounding (matrix kernels can round
                  differently at another batch size). `target: c` makes it targeted. torchattacks' `alpha` is
                  accepted for `step`, and AutoAttack's "Linf"/"L2" for norm; an L-inf eps above 1 is
                  refused (eps is in pixel space: 8/255, not 8). The study's evaluation
                  attack is pgd(eps: 4/255, step: 1/255, steps: 5); its training attack pgd(eps: 4/255,
                  step: 4/255, steps: 1). The model is in evaluation mode while the attack runs and back in
                  its previous mode after.
                  """) { a, _ in
            let norm = try AutoAttackBuiltins.normArg(a)
            let eps = try AutoAttackBuiltins.epsArg(a, norm: norm)
            if a.has("alpha") && a.has("step", at: 1) { throw RuntimeError.arguments("pgd: give either 'step' or torchattacks' 'alpha', not both") }
            let step = a.has("alpha") ? try a.number("alpha") : try a.number("step", at: 1, default: eps / 4)
            let steps = try a.int("steps", at: 2, default: 10)
            let restarts = try a.int("restarts", default: 1)
            let rs = try a.bool("random_start", default: true)
            let loss = AttackLossKind(rawValue: try a.choice("loss", AttackLossKind.allCases.map(\.rawValue), default: "ce")) ?? .ce
            let mode = RestartMode(rawValue: try a.choice("batched", RestartMode.allCases.map(\.rawValue), default: "auto")) ?? .auto
            let target = try optionalClass(a, "target")
            return .object(AttackObject(try engine {
                try PGD(eps: Float(eps), step: Float(step), steps: steps, restarts: restarts, randomStart: rs,
                        norm: norm, loss: loss, targetClass: target, restartMode: mode)
            }, eps: eps, step: step))
        }

        t.add("apgd", "apgd(eps, steps = 100, restarts: 1, loss: \"ce\", norm: \"linf\", target: nil, batched: \"auto\")",
              doc: """
                  AutoAttack's APGD (Croce & Hein 2020), a port of autopgd_base.py.

                  N = `steps` iterations from a random start, initial step 2*eps, momentum 0.75, and
                  checkpoints at 22%, then shrinking by 3% (at least 6%) of N where an example's step is
                  halved and it restarts from its best point when its loss rose in at most 75% of the steps
                  since the last checkpoint, or its step was not halved last time and its best loss did not
                  improve. An example is broken once any iterate misclassifies it. loss "ce" (APGD-CE) or
                  "dlr" (APGD-DLR, needs >= 3 classes); norm "linf" or "l2"; `restarts` run on the examples
                  still robust; eps in pixel space. Names in tables: APGD-CE-100, APGD-DLR-100.
                  """) { a, _ in
            let norm = try AutoAttackBuiltins.normArg(a)
            let eps = try AutoAttackBuiltins.epsArg(a, norm: norm)
            let steps = try a.int("steps", at: 1, default: 100)
            let restarts = try a.int("restarts", default: 1)
            let loss = AttackLossKind(rawValue: try a.choice("loss", AttackLossKind.allCases.map(\.rawValue), default: "ce")) ?? .ce
            let mode = RestartMode(rawValue: try a.choice("batched", RestartMode.allCases.map(\.rawValue), default: "auto")) ?? .auto
            let target = try optionalClass(a, "target")
            return .object(AttackObject(try engine {
                try APGD(eps: Float(eps), steps: steps, restarts: restarts, loss: loss, norm: norm, targetClass: target, restartMode: mode)
            }, eps: eps))
        }

        t.add("worst_of", "worst_of(attacks...)",
              doc: """
                  An ensemble as in AutoAttack: runs the attacks in order, each only on the examples all
                  earlier ones failed to fool, and keeps each example's first success; an example is robust
                  only if it survives every attack.

                  Takes attacks as arguments or one list of attacks. Returns an attack.
                  """) { a, _ in
            var items = a.positional
            if items.count == 1, case .list(let l) = items[0] { items = l.items }
            guard !items.isEmpty else { throw RuntimeError.arguments("worst_of: needs at least one attack, e.g. worst_of(pgd(eps: 4/255), apgd(eps: 4/255))") }
            let attacks = try items.enumerated().map { i, v -> Attack in
                guard case .object(let o) = v, let c = o as? AttackCarrier else {
                    throw RuntimeError.type("worst_of: argument \(i + 1) must be an attack, got \(v.typeName)")
                }
                return c.attackValue
            }
            return .object(AttackObject(try engine { try WorstOf(attacks) }))
        }

        t.add("evaluate", "evaluate(m, data, attack: pgd(eps: 4/255, step: 1/255, steps: 5), attacks: nil, batch: 128, limit: nil, sanity: true, progress: true, state: nil, precision: nil, per_example: false, adversarial: nil, eps: nil, norm: \"linf\")",
              doc: """
                  Clean and robust top-1 accuracy of model `m` on `data` (a Dataset, or a {train, test}
                  record: its test split), in percent.

                  Each attack runs on the clean-correct images; `attacks: [a, b]` runs several in one pass
                  (robust is then the per-example worst case, and `attacks` lists each one's own). Returns a
                  record {model, precision, params, clean, robust, drop, attack, attacks, images, seconds,
                  warnings}; drop is relative, (robust - clean) / clean in percent, as in the study. `limit`
                  evaluates the first images only. Sanity checks (eps 0 = clean, more steps never raise
                  robust accuracy, zero/NaN gradients, an unbounded attack reaches ~0%) run on a sample of
                  the first batch and warn on stderr; `sanity: false` skips them. Progress goes to stderr;
                  `state: "path.json"` saves progress atomically every few batches so rerunning the same
                  call resumes. `precision` overrides the "Train Prec" label for table() (default: the
                  precision fit() trained the model at, else the model's current precision). Deterministic
                  from seed(n).

                  The record also has `top5`, the clean top-5 accuracy (models with >= 5 classes).
                  `per_example: true` adds `per_example`: {labels, clean, robust, top5} as 0/1 tensors
                  (saveable with save_tensors) and `broken_by`, the name of the attack (for AutoAttack the
                  member, e.g. "apgd-t") that broke each image, "" where none did.

                  `adversarial: adv_data` scores precomputed adversarial images instead of running an
                  attack (a Dataset in the same order and with the same labels as `data`; `eps:` and
                  `norm:` give the threat model and every image is checked against it, an image outside the
                  ball is an error): robust means right on the clean and on the adversarial image, as
                  AutoAttack counts it; `robust_top5` is then reported too.
                  """) { a, _ in
            let m = try a.object("m", at: 0, as: ModelObject.self, expected: "a model").model
            let data = try dataset(a)
            if a.has("adversarial") { return try evaluateAdversarial(a, m, data) }
            if a.has("eps") || a.has("norm") {
                throw RuntimeError.arguments("evaluate: 'eps' and 'norm' describe precomputed images given with adversarial:; an attack carries its own eps")
            }
            var attacks: [Attack] = []
            if a.has("attacks") {
                guard !a.has("attack") else { throw RuntimeError.arguments("evaluate: give either attack: or attacks:, not both") }
                let items = try a.list("attacks")
                attacks = try items.enumerated().map { i, v in
                    guard case .object(let o) = v, let c = o as? AttackCarrier else {
                        throw RuntimeError.type("evaluate: element \(i + 1) of 'attacks' must be an attack, got \(v.typeName)")
                    }
                    return c.attackValue
                }
                guard !attacks.isEmpty else { throw RuntimeError.arguments("evaluate: 'attacks' is empty") }
            } else if a.has("attack") {
                attacks = [try attack(a, "attack")]
            } else {
                attacks = [try engine { try PGD(eps: 4 / 255, step: 1 / 255, steps: 5) }]
            }
            var o = try options(a, precisionLabel: true)
            o.perExample = try a.bool("per_example", default: false)
            let r = try engine { try Evaluation.evaluate(m, data, attacks: attacks, options: o, rng: RNG.global) }
            return recordValue(r)
        }

        t.add("sweep", "sweep(m, data, attack:, eps:, batch: 128, limit: nil, sanity: true, progress: true, state: nil)",
              doc: """
                  The robustness curve.

                  Robust top-1 accuracy (percent) of `m` on `data` for each radius in the list `eps` (pixel
                  space), all in one pass over the data; each point is the attack with that eps (its step
                  keeps the same ratio to eps). Returns a record {model, attack, clean, eps: [...] (as
                  written), robust: [...], points: [{eps, robust, label}], warnings}; a point's label names
                  the attack and its eps ("PGD-5 eps 2/255", also its column on the progress line). Warns
                  when robust accuracy rises with eps.
                  """) { a, _ in
            let m = try a.object("m", at: 0, as: ModelObject.self, expected: "a model").model
            let data = try dataset(a)
            let atk = try attack(a, "attack")
            let eps = try a.numbers("eps")  // kept as written for the record; the engine runs in Float
            let o = try options(a, precisionLabel: false)
            let r = try engine { try Evaluation.sweep(m, data, attack: atk, eps: eps.map(Float.init), options: o, rng: RNG.global) }
            let points: [Value] = zip(eps, r.robust).map { e, p in
                .record(RecordBox([("eps", .number(e)), ("robust", .number(p.robust)), ("label", .string(p.label))]))
            }
            return .record(RecordBox([
                ("model", .string(m.name)), ("attack", .string(atk.name)), ("clean", .number(r.clean)),
                ("eps", .list(ListBox(eps.map { .number($0) }))),
                ("robust", .list(ListBox(r.robust.map { .number($0.robust) }))),
                ("points", .list(ListBox(points))),
                ("warnings", .list(ListBox(r.warnings.map { .string($0) }))),
            ]))
        }

        t.add("table", "table(rows)",
              doc: """
                  The study's results table for a list of evaluate() records (or records written by hand
                  with fields model, precision, params, clean, robust, attack, drop).

                  Columns Model, Train Prec, Num Para ("29M", "1.0M"), Clean Acc@1, one "<attack> Acc@1"
                  column per attack (PGD-5 in the study) and Relative Drop, aligned. Returns the table as a
                  string; print(table(rows)) shows it.
                  """) { a, _ in
            let rows = try a.list("rows", at: 0).enumerated().map { i, v in try tableRow(v, index: i) }
            return .string(ResultsTable.format(rows))
        }

        t.add("save_table", "save_table(rows, path)",
              doc: """
                  Writes the rows table() takes to `path` atomically, as JSON or CSV.

                  The rows are evaluate() records, or records with model, precision, params, clean,
                  robust, drop. The file is a JSON list of objects when the path ends in .json (every number, string and bool field of each record, plus robust per
                  attack), CSV when it ends in .csv (the table's columns: model, train_prec, params, clean,
                  one robust column per attack, drop; percent values unrounded). Returns the path.
                  """) { a, _ in
            let items = try a.list("rows", at: 0)
            let rows = try items.enumerated().map { i, v in try tableRow(v, index: i) }
            let path = try a.string("path", at: 1)
            let text: String
            if path.hasSuffix(".csv") {
                text = ResultsTable.csv(rows)
            } else if path.hasSuffix(".json") {
                var objects: [[String: Any]] = []
                for (v, row) in zip(items, rows) {
                    var o: [String: Any] = [:]
                    if case .record(let r) = v {
                        for k in r.keys {
                            switch r.fields[k] {
                            case .number(let d)? where d.isFinite: o[k] = d
                            case .string(let s)?: o[k] = s
                            case .bool(let b)?: o[k] = b
                            default: break
                            }
                        }
                    }
                    o["model"] = row.model; o["precision"] = row.precision; o["clean"] = row.clean; o["drop"] = row.drop
                    o["robust_by_attack"] = Dictionary(row.robust.map { ($0.name, $0.value) }, uniquingKeysWith: { x, _ in x })
                    objects.append(o)
                }
                let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])
                text = (String(data: data, encoding: .utf8) ?? "[]") + "\n"
            } else {
                throw RuntimeError.arguments("save_table: path must end in .json or .csv, got \"\(path)\"")
            }
            try engine { try AtomicFile.write(Data(text.utf8), to: path) }
            return .string(path)
        }
    }

    // MARK: helpers


    /// An optional class index argument (nil when absent or nil).
    static func optionalClass(_ a: Arguments, _ name: String) throws -> Int? {
        guard a.has(name) else { return nil }
        let c = try a.int(name)
        guard c >= 0 else { throw RuntimeError.arguments("\(a.callee): '\(name)' must be a class index >= 0, got \(c)") }
        return c
    }

    /// Labels from a tensor, a list of numbers or one number (`broadcast`: one class for all).
    static func labels(_ v: Value, count n: Int, what: String, broadcast: Bool = false) throws -> [Int] {
        let t = try TensorObject.from(v, what: what)
        var vals = t.toArray()
        if vals.count == 1 && (broadcast || n == 1) { vals = [Float](repeating: vals[0], count: n) }
        guard vals.count == n else {
            throw RuntimeError.value("\(what): \(vals.count) labels for \(n) images")
        }
        return try vals.map { f in
            guard f == f.rounded(), f >= 0, f < 1e9 else { throw RuntimeError.value("\(what): labels must be class indices >= 0, got \(f)") }
            return Int(f)
        }
    }

    static func attack(_ a: Arguments, _ name: String) throws -> Attack {
        guard let v = a.value(name) else { throw RuntimeError.arguments("\(a.callee): missing argument '\(name)'") }
        guard case .object(let o) = v, let c = o as? AttackCarrier else {
            throw RuntimeError.type("\(a.callee): argument '\(name)' must be an attack such as pgd(eps: 4/255, step: 1/255, steps: 5), got \(v.typeName)")
        }
        return c.attackValue
    }

    /// The evaluation set: a Dataset, or the `test` field of a {train, test} record.
    static func dataset(_ a: Arguments) throws -> Dataset {
        guard let v = a.value("data", at: 1) else { throw RuntimeError.arguments("\(a.callee): missing argument 'data'") }
        if case .object(let o) = v, let d = o as? DatasetObject { return d.dataset }
        if case .record(let r) = v, case .object(let o)? = r["test"], let d = o as? DatasetObject { return d.dataset }
        throw RuntimeError.type("\(a.callee): argument 'data' must be a Dataset or a {train, test} record, got \(v.typeName)")
    }

    /// The evaluation options; `precisionLabel`: the builtin has a `precision` argument (evaluate).
    static func options(_ a: Arguments, precisionLabel: Bool) throws -> EvalOptions {
        var o = EvalOptions()
        o.batch = try a.int("batch", default: 128)
        guard o.batch >= 1 else { throw RuntimeError.arguments("\(a.callee): batch must be >= 1, got \(o.batch)") }
        if a.has("limit") {
            let l = try a.int("limit")
            guard l >= 0 else { throw RuntimeError.arguments("\(a.callee): limit must be >= 0, got \(l)") }
            o.limit = l
        }
        o.sanity = try a.bool("sanity", default: true)
        o.progress = try a.bool("progress", default: true)
        if a.has("state") { o.statePath = try a.string("state") }
        if precisionLabel, a.has("precision") { o.precisionLabel = try a.string("precision") }
        return o
    }

    /// evaluate(m, data, adversarial: adv, eps:, norm:): scores precomputed adversarial images.
    static func evaluateAdversarial(_ a: Arguments, _ m: Model, _ data: Dataset) throws -> Value {
        for k in ["attack", "attacks", "state", "sanity"] where a.has(k) {
            throw RuntimeError.arguments("evaluate: '\(k)' does not apply to precomputed adversarial images (adversarial:)")
        }
        guard case .object(let advObject)? = a.value("adversarial"), let adv = (advObject as? DatasetObject)?.dataset else {
            throw RuntimeError.type("evaluate: argument 'adversarial' must be a Dataset of adversarial images (same order and labels as data), got \(a.value("adversarial")?.typeName ?? "nothing")")
        }
        guard a.has("eps") else {
            throw RuntimeError.arguments("evaluate: adversarial: needs eps: (and norm: for L2), the threat model the images are checked against")
        }
        let norm = try AutoAttackBuiltins.normArg(a)
        let eps = try AutoAttackBuiltins.epsArg(a, norm: norm, at: nil)
        var o = try options(a, precisionLabel: true)
        o.perExample = try a.bool("per_example", default: false)
        let r = try engine { try Evaluation.evaluateAdversarial(m, data, adversarial: adv, eps: Float(eps), norm: norm, name: "precomputed", options: o) }
        return recordValue(r)
    }

    static func recordValue(_ r: EvalRecord) -> Value {
        .record(RecordBox([
            ("model", .string(r.model)), ("precision", .string(r.precision)), ("params", .number(Double(r.params))),
            ("clean", .number(r.clean)), ("robust", .number(r.robust)), ("drop", .number(r.drop)),
            ("attack", .string(r.attack)),
            ("attacks", .list(ListBox(r.perAttack.map { p in
                .record(RecordBox([("name", .string(p.name)), ("robust", .number(p.robust)),
                                   ("drop", .number(EvalRecord.relativeDrop(clean: r.clean, robust: p.robust)))]))
            }))),
            ("images", .number(Double(r.images))), ("seconds", .number(r.seconds)),
            ("warnings", .list(ListBox(r.warnings.map { .string($0) }))),
        ] + extraFields(r)))
    }

    /// The optional fields of an evaluate() record: top-5 accuracies and per-example outcomes.
    static func extraFields(_ r: EvalRecord) -> [(String, Value)] {
        var out: [(String, Value)] = []
        if let t = r.cleanTop5 { out.append(("top5", .number(t))) }
        if let t = r.robustTop5 { out.append(("robust_top5", .number(t))) }
        if let p = r.perExample {
            func flags(_ b: [Bool]) -> Value {
                let t = Tensor(shape: [b.count], repeating: 0)
                for (i, v) in b.enumerated() where v { t.ptr[i] = 1 }
                return .object(TensorObject(t))
            }
            let labels = Tensor(shape: [p.labels.count], repeating: 0)
            for (i, l) in p.labels.enumerated() { labels.ptr[i] = Float(l) }
            out.append(("per_example", .record(RecordBox([
                ("labels", .object(TensorObject(labels))), ("clean", flags(p.clean)), ("robust", flags(p.robust)),
                ("top5", flags(p.top5)), ("broken_by", .list(ListBox(p.brokenBy.map { .string($0) }))),
            ]))))
        }
        return out
    }

    /// A table row from an evaluate() record or a hand-written one.
    static func tableRow(_ v: Value, index i: Int) throws -> ResultsTable.Row {
        guard case .record(let r) = v else { throw RuntimeError.type("table: row \(i + 1) must be a record such as evaluate() returns, got \(v.typeName)") }
        func num(_ k: String) throws -> Double? {
            guard let x = r[k] else { return nil }
            if case .nil_ = x { return nil }
            guard case .number(let d) = x else { throw RuntimeError.type("table: row \(i + 1): field '\(k)' must be a number, got \(x.typeName)") }
            return d
        }
        func str(_ k: String) -> String? {
            if case .string(let s)? = r[k] { return s }
            return nil
        }
        guard let clean = try num("clean") else { throw RuntimeError.value("table: row \(i + 1) has no 'clean' field") }
        var robust: [(name: String, value: Double)] = []
        if case .list(let l)? = r["attacks"] {
            for item in l.items {
                if case .record(let ar) = item, case .string(let n)? = ar["name"], case .number(let d)? = ar["robust"] { robust.append((n, d)) }
            }
        }
        if robust.isEmpty, let rb = try num("robust") { robust = [(str("attack") ?? "PGD-5", rb)] }
        let worst = try num("robust") ?? robust.map(\.value).min() ?? clean
        let drop = try num("drop") ?? EvalRecord.relativeDrop(clean: clean, robust: worst)
        let params = try num("params")
        if let p = params, !(p >= 0 && p < 1e15) {
            throw RuntimeError.value("table: row \(i + 1): field 'params' must be a count >= 0, got \(formatNumber(p))")
        }
        return ResultsTable.Row(model: str("model") ?? str("name") ?? "?", precision: str("precision") ?? "fp32",
                                params: params.map { Int($0) }, clean: clean, robust: robust, drop: drop)
    }
}
