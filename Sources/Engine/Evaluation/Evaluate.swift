// Robustness evaluation: clean and robust top-1 accuracy of a model over a data set, with
// sanity checks, progress on stderr (the shared `Progress` display), and resume from a state file.
import Foundation
import Tensor

/// Options of `Evaluation.evaluate`.
public struct EvalOptions {
    /// Images per batch.
    public var batch: Int = 128
    /// Evaluate only the first `limit` images (nil: all).
    public var limit: Int? = nil
    /// Run the sanity checks (on the first batch) and warn on stderr when one fails.
    public var sanity: Bool = true
    /// Show progress (images, images/s, ETA, running accuracies) on the shared `Progress` display.
    public var progress: Bool = true
    /// Names of the attacks on the progress line and in the record's per-attack results (nil:
    /// each attack's `name`; `sweep` labels each point with its eps).
    public var labels: [String]? = nil
    /// JSON state file for resuming (nil: no state).
    public var statePath: String? = nil
    /// Save the state every this many batches (and at the end).
    public var saveEvery: Int = 5
    /// Precision label for the record ("Train Prec"; nil: the precision `fit` trained the model
    /// at, else the model's current precision).
    public var precisionLabel: String? = nil
    /// Multi-process evaluation (docs/distributed.md): this process evaluates the batches whose
    /// index is `shard` modulo `shards`, with exactly the images and random seed one process
    /// gives them, and `reduce` sums the counts over the processes, so the result equals one
    /// process's. `shards` 1: everything here.
    public var shard: Int = 0
    public var shards: Int = 1
    /// Element-wise sum of per-process counts over all processes (required when `shards` > 1).
    public var reduce: (([Int]) throws -> [Int])? = nil
    /// Keep each image's outcome (clean correct, robust, which attack broke it) in the record.
    public var perExample: Bool = false
    /// Run a single ensemble attack (AutoAttack, worst_of) in the pooled order: each member on
    /// all images still robust after the earlier ones, in full batches (docs/attacks.md,
    /// "Pooled order"). False: the whole ensemble per data batch. Several processes always use
    /// the per-batch order.
    public var pooled: Bool = true
    public init() {}
}

public enum Evaluation {
    /// Where warnings and notes go (stderr by default; tests replace it). Progress lines go to
    /// `Progress`.
    public nonisolated(unsafe) static var log: (String) -> Void = { line in
        Console.err(line + "\n")
    }

    /// Evaluates `model` on `data` under each attack in one pass over the data.
    ///
    /// Clean predictions are computed once per batch; each attack runs on the clean-correct
    /// images only. An image is robust for an attack when it is correct on clean input and the
    /// attack does not fool it; `robust` is the per-example worst case over all attacks.
    /// Each batch draws its randomness from an RNG derived from one seed taken from `rng`, so
    /// results are reproducible and a resumed run gives the numbers an uninterrupted run gives.
    /// - Parameters:
    ///   - model: the classifier (put in evaluation mode; its previous mode is restored).
    ///   - data: the evaluation set (images must match the model's input shape).
    ///   - attacks: one or more attacks.
    ///   - options: batch size, limit, sanity checks, progress, state file.
    ///   - rng: source of the evaluation seed.
    /// - Returns: the record (accuracies in percent).
    public static func evaluate(_ model: Model, _ data: Dataset, attacks: [Attack], options: EvalOptions = EvalOptions(),
                                rng: RNG) throws -> EvalRecord {
        guard !attacks.isEmpty else { throw EngineError.invalidArgument("evaluate: needs at least one attack") }
        guard options.batch >= 1 else { throw EngineError.invalidArgument("evaluate: batch must be >= 1, got \(options.batch)") }
        if let l = options.limit, l < 0 { throw EngineError.invalidArgument("evaluate: limit must be >= 0, got \(l)") }
        let s = model.inputShape, ds = data.imageShape
        guard s.channels == ds.channels, s.height == ds.height, s.width == ds.width else {
            throw EngineError.shape("evaluate: data set images are \(ds.channels)x\(ds.height)x\(ds.width) but model \(model.name) expects \(s.channels)x\(s.height)x\(s.width)")
        }
        guard data.classes <= model.classes else {
            throw EngineError.shape("evaluate: data set has \(data.classes) classes but model \(model.name) has \(model.classes) outputs")
        }
        if let l = options.labels, l.count != attacks.count {
            throw EngineError.invalidArgument("evaluate: \(l.count) labels for \(attacks.count) attacks")
        }
        guard options.shards >= 1, (0..<options.shards).contains(options.shard), options.shards == 1 || options.reduce != nil else {
            throw EngineError.invalidArgument("evaluate: shard \(options.shard) of \(options.shards) is not a valid split (or no reduce given)")
        }
        if options.shards > 1 && options.perExample {
            throw EngineError.invalidArgument("evaluate: per-example outcomes are not supported on several processes yet; run it on one process")
        }
        if options.shards > 1 && options.statePath != nil {
            throw EngineError.invalidArgument("evaluate: state: (resume) is not supported on several processes yet; run it on one process or drop state:")
        }
        let names = options.labels ?? attacks.map(\.name)
        let total = min(options.limit ?? data.count, data.count)
        let staged = attacks.count == 1 && options.pooled && options.shards == 1 ? attacks[0] as? StagedAttack : nil
        let key = stateKey(model, data, attacks, options, total) + (staged != nil ? "|pooled" : "")
        var state = EvalState(key: key, seed: rng.next(), next: 0, clean: 0, robust: 0,
                              perAttack: [Int](repeating: 0, count: attacks.count), seconds: 0, warnings: [], sanityDone: false)
        if let path = options.statePath, let saved = try EvalState.load(path) {
            guard saved.key == key, saved.perAttack.count == attacks.count else {
                throw EngineError.invalidArgument("evaluate: state file \(path) belongs to another evaluation (different model weights, data, attacks, batch or limit); delete it or choose another path")
            }
            state = saved
            if let st = staged, let p = state.pooled, state.next == total, p.stage < st.stageCount, options.progress {
                log("evaluate \(model.name): resuming from \(path) at \(st.stageName(p.stage)), image \(p.done)/\(p.pending?.count ?? 0) of its images")
            } else if state.next > 0 && options.progress {
                log("evaluate \(model.name): resuming from \(path) at image \(state.next)/\(total)")
            }
        }
        let start = Date()
        let secondsBefore = state.seconds
        if let staged {
            try AttackMode.evaluating(model) {
                try runPooled(model, data, attack: staged, label: names[0], options: options, total: total, state: &state) { st in
                    guard let path = options.statePath else { return }
                    st.seconds = secondsBefore + Date().timeIntervalSince(start)
                    try st.save(path)
                }
            }
        } else {
            try evaluateBatches(model, data, attacks: attacks, names: names, options: options, total: total, state: &state,
                                start: start, secondsBefore: secondsBefore)
        }
        return try finish(model, attacks: attacks, names: names, options: options, total: total, state: &state,
                          start: start, secondsBefore: secondsBefore)
    }

    /// The per-batch order: each data batch's clean-correct images go through every attack.
    static func evaluateBatches(_ model: Model, _ data: Dataset, attacks: [Attack], names: [String], options: EvalOptions,
                                total: Int, state: inout EvalState, start: Date, secondsBefore: Double) throws {
        let s = model.inputShape
        let d = s.channels * s.height * s.width
        var batches = 0
        var seen = 0  // images this process evaluated (all of them on one process)
        let progress = Progress("evaluate \(model.name)", total: total, unit: "images", enabled: options.progress)
        progress.resume(from: state.next)
        defer { progress.finish() }
        try AttackMode.evaluating(model) {
            while state.next < total {
                try Interrupt.check()
                let lo = state.next, hi = min(lo + options.batch, total), n = hi - lo
                if options.shards > 1 && (lo / options.batch) % options.shards != options.shard {
                    state.next = hi  // another process's batch
                    continue
                }
                seen += n
                let x = Tensor(zeros: [n, s.channels, s.height, s.width])
                var labels = [Int](repeating: 0, count: n)
                for k in 0..<n { labels[k] = try data.load(lo + k, into: x.ptr + k * d) }
                let batchIndex = UInt64(lo / options.batch)
                let seed = state.seed &+ (batchIndex &+ 1) &* 0x9E37_79B9_7F4A_7C15
                let cleanLogits = try AttackOps.logits(model, x)
                let pred = AttackOps.predictions(cleanLogits)
                let correctIdx = (0..<n).filter { pred[$0] == labels[$0] }
                var robustMask = [Bool](repeating: true, count: correctIdx.count)
                var brokenBy = [String](repeating: "", count: correctIdx.count)
                let top5 = topK(cleanLogits, labels, k: 5)
                state.top5 = (state.top5 ?? 0) + top5.filter { $0 }.count
                if !correctIdx.isEmpty {
                    let xc = correctIdx.count == n ? x : try AttackOps.rows(x, correctIdx)
                    let yc = correctIdx.map { labels[$0] }
                    if options.sanity && !state.sanityDone && options.shard == 0 {
                        let m = min(SanityChecks.sampleSize, correctIdx.count)
                        let sample = try AttackOps.rows(xc, Array(0..<m))
                        let w = try SanityChecks.run(attacks[0], model: model, x: sample, labels: Array(yc[0..<m]), seed: seed ^ 0x5A5A)
                        if !w.isEmpty { progress.finish() }
                        for line in w { log("WARNING: sanity check failed: \(line)") }
                        state.warnings += w
                        state.sanityDone = true
                    }
                    let batchRNG = RNG(seed: seed)
                    for (ai, a) in attacks.enumerated() {
                        let r = try a.run(model, xc, goal: AttackGoal(labels: yc), rng: batchRNG)
                        state.perAttack[ai] += r.fooled.filter { !$0 }.count
                        for k in 0..<robustMask.count where r.fooled[k] {
                            if robustMask[k] { brokenBy[k] = r.brokenBy?[k] ?? a.name }
                            robustMask[k] = false
                        }
                    }
                }
                state.clean += correctIdx.count
                state.robust += robustMask.filter { $0 }.count
                if options.perExample {
                    var ex = state.examples ?? EvalState.Examples()
                    var robustAll = [Bool](repeating: false, count: n), byAll = [String](repeating: "", count: n)
                    for (k, i) in correctIdx.enumerated() { robustAll[i] = robustMask[k]; byAll[i] = brokenBy[k] }
                    ex.clean += (0..<n).map { pred[$0] == labels[$0] }
                    ex.robust += robustAll
                    ex.brokenBy += byAll
                    ex.top5 += top5
                    ex.labels += labels
                    state.examples = ex
                }
                state.next = hi
                batches += 1
                state.seconds = secondsBefore + Date().timeIntervalSince(start)
                if let path = options.statePath, batches % max(options.saveEvery, 1) == 0 || hi == total {
                    try state.save(path)
                }
                let denominator = options.shards == 1 ? hi : seen
                var metric = "clean \(pct(state.clean, denominator))"
                for (ai, label) in names.enumerated() { metric += "  \(label) \(pct(state.perAttack[ai], denominator))" }
                progress.update(hi, metric: metric, force: hi == total)
            }
        }
    }

    /// Saves the final state, sums the counts over processes and builds the record.
    static func finish(_ model: Model, attacks: [Attack], names: [String], options: EvalOptions, total: Int,
                       state: inout EvalState, start: Date, secondsBefore: Double) throws -> EvalRecord {
        state.seconds = secondsBefore + Date().timeIntervalSince(start)
        if let path = options.statePath { try state.save(path) }
        if options.shards > 1, let reduce = options.reduce {
            let sums = try reduce([state.clean, state.robust] + state.perAttack)
            guard sums.count == 2 + state.perAttack.count else { throw EngineError.invalidArgument("evaluate: reduce returned \(sums.count) counts") }
            state.clean = sums[0]; state.robust = sums[1]; state.perAttack = Array(sums[2...])
        }
        let clean = total > 0 ? Double(state.clean) * 100 / Double(total) : 0
        let robust = total > 0 ? Double(state.robust) * 100 / Double(total) : 0
        var record = EvalRecord(model: model.name, precision: options.precisionLabel ?? (model.trainedPrecision ?? model.precision).rawValue,
                                params: model.parameterCount, clean: clean, robust: robust,
                                drop: EvalRecord.relativeDrop(clean: clean, robust: robust),
                                perAttack: names.enumerated().map { ($1, total > 0 ? Double(state.perAttack[$0]) * 100 / Double(total) : 0) },
                                images: total, seconds: state.seconds, warnings: state.warnings)
        if model.classes >= 5, total > 0, let t5 = state.top5 { record.cleanTop5 = Double(t5) * 100 / Double(total) }
        record.perExample = state.examples.map { PerExampleOutcome(labels: $0.labels, clean: $0.clean, robust: $0.robust, brokenBy: $0.brokenBy, top5: $0.top5) }
        return record
    }

    /// Per row: whether `labels[i]` is among the `k` highest logits (ties count against it).
    // logits: (N, K) -> N
    static func topK(_ logits: Tensor, _ labels: [Int], k: Int) -> [Bool] {
        let n = logits.shape[0], c = logits.shape[1], p = logits.ptr
        return (0..<n).map { i in
            let v = p[i * c + labels[i]]
            var above = 0
            for j in 0..<c where j != labels[i] && p[i * c + j] >= v { above += 1 }
            return above < k
        }
    }

    /// Robust accuracy per eps (the robustness curve), in one pass over the data.
    /// - Parameters:
    ///   - model: the classifier.
    ///   - data: the evaluation set.
    ///   - attack: the attack; `attack.with(eps:)` gives each point (the step scales with eps).
    ///   - eps: radii in pixel units.
    ///   - options: as for `evaluate` (sanity checks use the first eps).
    ///   - rng: source of the evaluation seed.
    /// - Returns: the clean accuracy and the robust accuracy (percent) for each eps.
    public static func sweep(_ model: Model, _ data: Dataset, attack: Attack, eps: [Float], options: EvalOptions = EvalOptions(),
                             rng: RNG) throws -> (clean: Double, robust: [(eps: Float, robust: Double, label: String)], warnings: [String]) {
        guard !eps.isEmpty else { throw EngineError.invalidArgument("sweep: eps must list at least one radius") }
        for e in eps where !(e >= 0 && e.isFinite) {
            throw EngineError.invalidArgument("sweep: eps values must be finite and >= 0, got \(e)")
        }
        let attacks = eps.map { attack.with(eps: $0) }
        var o = options
        o.labels = eps.map { "\(attack.name) eps \(fmt($0))" }
        let r = try evaluate(model, data, attacks: attacks, options: o, rng: rng)
        let curve = zip(eps, r.perAttack).map { (eps: $0, robust: $1.robust, label: $1.name) }
        var warnings = r.warnings
        let sorted = curve.sorted { $0.eps < $1.eps }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.robust > a.robust + 1e-9 {
            let w = "robust accuracy rose from \(String(format: "%.2f", a.robust))% at eps \(a.eps) to \(String(format: "%.2f", b.robust))% at eps \(b.eps): a correct attack never gets weaker with a larger eps"
            log("WARNING: sanity check failed: \(w)")
            warnings.append(w)
        }
        return (r.clean, curve, warnings)
    }

    static func pct(_ k: Int, _ n: Int) -> String { n > 0 ? String(format: "%.2f%%", Double(k) * 100 / Double(n)) : "-" }

    /// Identifies an evaluation: model name, parameter count and a checksum of the weights,
    /// data size, attacks, batch and limit.
    static func stateKey(_ model: Model, _ data: Dataset, _ attacks: [Attack], _ o: EvalOptions, _ total: Int) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for p in model.parameters() + model.buffers() {
            let ptr = p.tensor.ptr
            for k in 0..<p.tensor.count {
                h = (h ^ UInt64(ptr[k].bitPattern)) &* 0x100_0000_01b3
            }
        }
        return "\(model.name)|\(model.parameterCount)|\(String(h, radix: 16))|data \(data.count)x\(data.classes)|\(attacks.map(\.description).joined(separator: ";"))|batch \(o.batch)|images \(total)|sanity \(o.sanity)" + (o.perExample ? "|per-example" : "")
    }
}
