// The result of a robustness evaluation. Accuracies and the relative drop are in percent
// (0-100), as in the study's table: clean 69.98 means 69.98% top-1; drop -29 means the robust
// accuracy is 29% lower than the clean accuracy, relative to it.

import Tensor

/// One evaluation: clean and robust top-1 accuracy of a model on a data set.
public struct EvalRecord {
    /// Model (architecture) name.
    public var model: String
    /// Precision label for the table ("fp32", "bf16").
    public var precision: String
    /// Trainable parameters.
    public var params: Int
    /// Clean top-1 accuracy, percent.
    public var clean: Double
    /// Robust top-1 accuracy, percent: correct on clean input and not fooled by any attack
    /// (per-example worst case over the attacks when there are several).
    public var robust: Double
    /// Relative drop (robust - clean) / clean, percent (0 when clean is 0).
    public var drop: Double
    /// Attack names and each attack's own robust accuracy (percent), in the order given.
    public var perAttack: [(name: String, robust: Double)]
    /// Images evaluated.
    public var images: Int
    /// Wall-clock seconds (including earlier runs when resumed from a state file).
    public var seconds: Double
    /// Sanity-check failures (also printed to stderr).
    public var warnings: [String]
    /// Clean top-5 accuracy, percent (nil for models with fewer than 5 classes).
    public var cleanTop5: Double? = nil
    /// Robust top-5 accuracy, percent: only for precomputed adversarial images (an attack
    /// that breaks top-1 is not run against the top-5 criterion), else nil.
    public var robustTop5: Double? = nil
    /// Each image's outcome, when `EvalOptions.perExample` asked for it.
    public var perExample: PerExampleOutcome? = nil

    public init(model: String, precision: String, params: Int, clean: Double, robust: Double, drop: Double,
                perAttack: [(name: String, robust: Double)], images: Int, seconds: Double, warnings: [String]) {
        self.model = model; self.precision = precision; self.params = params; self.clean = clean
        self.robust = robust; self.drop = drop; self.perAttack = perAttack; self.images = images
        self.seconds = seconds; self.warnings = warnings
    }

    /// The attack column name: one attack's name, or the names joined with " + ".
    public var attack: String { perAttack.map(\.name).joined(separator: " + ") }

    /// (robust - clean) / clean in percent.
    public static func relativeDrop(clean: Double, robust: Double) -> Double {
        clean > 0 ? (robust - clean) / clean * 100 : 0
    }
}

/// Per image of an evaluation: its label, whether the clean prediction is right (top-1 and
/// top-5), whether it stayed right under every attack, and the name of the attack that broke it
/// ("" when none did or it was already wrong; for AutoAttack the member, e.g. "apgd-t").
public struct PerExampleOutcome {
    public var labels: [Int]
    public var clean: [Bool]
    public var robust: [Bool]
    public var brokenBy: [String]
    public var top5: [Bool]
    public init(labels: [Int], clean: [Bool], robust: [Bool], brokenBy: [String], top5: [Bool]) {
        self.labels = labels; self.clean = clean; self.robust = robust; self.brokenBy = brokenBy; self.top5 = top5
    }
}
