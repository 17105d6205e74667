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

    /// The attack column name: one attack's name, or the names joined with " + ".
    public var attack: String { perAttack.map(\.name).joined(separator: " + ") }

    /// (robust - clean) / clean in percent.
    public static func relativeDrop(clean: Double, robust: Double) -> Double {
        clean > 0 ? (robust - clean) / clean * 100 : 0
    }
}
