// A RobustBench-style benchmark: clean accuracy and AutoAttack robust accuracy on the first n
// test images, reported with RobustBench's model-entry fields (clean_acc and autoattack_acc as
// percent strings with two decimals, eps as "8/255", threat_model "Linf" | "L2", dataset,
// architecture, additional_data, number_forward_passes) plus what this run measured: the robust
// accuracy after each AutoAttack member (the reference's "robust accuracy after APGD-CE"), the
// seconds per member, the total time and the settings. Saved as JSON atomically.
import Foundation
import Tensor

/// The outcome of `Benchmark.run`.
public struct BenchmarkResult {
    public var name: String
    public var architecture: String
    public var dataset: String
    /// "Linf" or "L2" (RobustBench's threat-model names).
    public var threatModel: String
    public var eps: Float
    public var examples: Int
    /// Percent.
    public var clean: Double
    /// Percent: AutoAttack's robust accuracy.
    public var robust: Double
    public var version: String
    /// Per member: the reference's name, robust accuracy (percent of all examples) after it, seconds.
    public var members: [(name: String, robustAfter: Double, seconds: Double)]
    public var seconds: Double
    public var warnings: [String]

    /// RobustBench's eps notation: "8/255" for L-inf multiples of 1/255, else the number.
    public var epsText: String { threatModel == "Linf" ? fmt(eps, norm: .linf) : String(format: "%g", Double(eps)) }

    /// The JSON object (RobustBench's fields first, then this run's details).
    public func json() throws -> Data {
        func two(_ v: Double) -> String { String(format: "%.2f", v) }
        var adv: [String: Any] = [
            "attack": "AutoAttack", "version": version, "n_examples": examples,
            "seconds": (seconds * 100).rounded() / 100,
            "robust_accuracy_after": Dictionary(uniqueKeysWithValues: members.map { ($0.name, two($0.robustAfter)) }),
            "seconds_per_attack": Dictionary(uniqueKeysWithValues: members.map { ($0.name, ($0.seconds * 100).rounded() / 100) }),
            "attacks_to_run": members.map(\.name),
        ]
        if !warnings.isEmpty { adv["warnings"] = warnings }
        let obj: [String: Any] = [
            "name": name, "architecture": architecture, "dataset": dataset, "threat_model": threatModel,
            "eps": epsText, "clean_acc": two(clean), "autoattack_acc": two(robust),
            "additional_data": false, "number_forward_passes": 1, "footnote": "", "unreliable": false,
            "adv": adv,
        ]
        return try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
    }
}

public enum Benchmark {
    /// Clean + AutoAttack evaluation of the first `n` images of `data`.
    /// - Parameters:
    ///   - model: the classifier.
    ///   - data: the test set.
    ///   - dataset: its name for the record (e.g. "cifar10").
    ///   - norm: the threat model.
    ///   - eps: radius in pixel units.
    ///   - n: images (RobustBench: 10,000 for its leaderboard, often 1,000 for a quick check).
    ///   - version: AutoAttack's version (standard by default).
    ///   - options: batch, progress, sanity (the limit is set to `n`).
    ///   - rng: source of the evaluation seed.
    public static func run(_ model: Model, _ data: Dataset, dataset: String, norm: AttackNorm, eps: Float, n: Int,
                           version: AutoAttack.Version = .standard, options: EvalOptions = EvalOptions(), rng: RNG) throws -> BenchmarkResult {
        guard n >= 1 else { throw EngineError.invalidArgument("benchmark: n must be >= 1, got \(n)") }
        let aa = try AutoAttack(eps: eps, norm: norm, version: version, verbose: options.progress)
        var o = options
        o.limit = n
        let r = try Evaluation.evaluate(model, data, attacks: [aa], options: o, rng: rng)
        let total = Double(r.images)
        let cleanCorrect = Int((r.clean * total / 100).rounded())
        var left = cleanCorrect
        var members: [(String, Double, Double)] = []
        for s in aa.stats {
            left -= s.broken
            members.append((s.name, total > 0 ? Double(left) * 100 / total : 0, s.seconds))
        }
        return BenchmarkResult(name: model.name, architecture: model.name, dataset: dataset,
                               threatModel: norm == .linf ? "Linf" : "L2", eps: eps, examples: r.images,
                               clean: r.clean, robust: r.robust, version: version.rawValue,
                               members: members, seconds: r.seconds, warnings: r.warnings)
    }
}
