// A recipe printed the way the study prints its recipe table: one row per table entry, the
// recipe as a column. `Recipe.table([...])` puts several recipes side by side.
import Foundation
import Tensor

extension Recipe {
    /// The rows of the study's recipe table with this recipe's values, in the study's order
    /// (plus the rows the study leaves implicit: workers, accumulation).
    public var tableRows: [(label: String, value: String)] {
        func yesNo(_ x: Double) -> String { x == 0 ? "no" : fmt(x) }
        func sci(_ x: Double) -> String {
            x == 0 ? "0" : (x < 0.01 ? String(format: "%.2E", x) : fmt(x))
        }
        let opt = optimizer == "sgd"
            ? "SGD, mom=\(fmt(momentum))" + (nesterov ? ", nesterov" : "")
            : "AdamW"
        // Scaled values to 4 significant digits (0.9, not 0.8999999999999999).
        func g4(_ x: Double) -> String { fmt(Double(String(format: "%.4g", x)) ?? x) }
        let decay = schedule == "step"
            ? "step\(g4(decayEpochs))e, minlr=\(g4(minLR))"
            : "cosine, minlr=\(g4(minLR))"
        let warm = warmupEpochs > 0 ? "initlr=\(g4(warmupLR)), \(g4(warmupEpochs))e linear" : "no"
        // The augmentation warmup as the run does it: the table's wording at the table's length,
        // the run epochs where each stage happens once scaled (augWarmupScale != 1).
        let k = augWarmupScale
        func at(_ e: Double) -> String { fmt(Double(String(format: "%.3g", e * k)) ?? e * k) }
        let ra: String
        if let s = randAugment {
            let ramp = "m1-mstd\(fmt(s.std))-->m\(fmt(s.magnitude))-mstd\(fmt(s.std))"
            ra = !augWarmup ? s.description : k == 1 ? ramp : ramp + " by \(at(s.magnitude))e"
        } else { ra = "no" }
        let cut = augWarmup && cutmix > 0 ? "0-\(fmt1(cutmix)) at " + (k == 1 ? "6th e" : "\(at(6))e") : fmt(cutmix)
        let prob = augWarmup && (mixup > 0 || cutmix > 0) ? "0.5-\(fmt(mixProb)) first 0-" + (k == 1 ? "5e" : "\(at(5))e") : fmt(mixProb)
        return [
            ("model", name),
            ("activation", activation),
            ("norm layer", normLayer.isEmpty ? "-" : normLayer),
            ("epochs", String(epochs)),
            ("batch size", String(globalBatch)),
            ("optimizer", opt),
            ("init lr (bs\(lrBatch))", sci(lr)),
            ("lr decay (bs\(lrBatch))", decay),
            ("warmup", warm),
            ("amp", precision == "fp32" ? "no" : precision),
            ("weight decay", sci(weightDecay)),
            ("label smoothing eps", fmt(labelSmoothing)),
            ("dropout", yesNo(dropout)),
            ("stochastic depth rate", fmt(dropPath)),
            ("repeated aug", repeatedAug ? "yes" : "no"),
            ("gradient clip", gradClip.map(fmt) ?? "no"),
            ("EMA", ema.map(fmt) ?? "no"),
            ("rand aug", ra),
            ("mixup alpha", fmt(mixup)),
            ("cutmix alpha", cut),
            ("mixup/cutmix prob", prob),
            ("rand erasing prob", fmt(randomErasing)),
            ("workers x batch x accumulation", "\(workers) x \(batch) x \(accumulation)"),
            ("peak lr (this batch)", sci(scaledLR)),
        ]
    }

    /// Recipes side by side as a Markdown table (rows as in the study, one column per recipe).
    public static func table(_ recipes: [Recipe]) -> String {
        guard let first = recipes.first else { return "(no recipes)" }
        let labels = first.tableRows.map(\.label)
        let cols = recipes.map { $0.tableRows.map(\.value) }
        var widths = [labels.map(\.count).max() ?? 0]
        for c in cols { widths.append(c.map(\.count).max() ?? 0) }
        func line(_ cells: [String]) -> String {
            "| " + cells.enumerated().map { i, s in s.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: " | ") + " |"
        }
        var out = [line([labels[0]] + cols.map { $0[0] })]
        out.append("|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|")
        for r in 1..<labels.count { out.append(line([labels[r]] + cols.map { $0[r] })) }
        return out.joined(separator: "\n")
    }
}

/// A number with at least one decimal: 1 -> "1.0".
private func fmt1(_ x: Double) -> String { x == x.rounded() ? String(format: "%.1f", x) : fmt(x) }
