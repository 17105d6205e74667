// The study's results table: Model | Train Prec | Num Para | Clean Acc@1 | PGD-5 Acc@1 |
// Relative Drop, aligned, with one "<attack> Acc@1" column per distinct attack.
import Foundation
import Tensor

public enum ResultsTable {
    /// One row of the table (from an EvalRecord or written by hand).
    public struct Row {
        public var model: String
        public var precision: String
        public var params: Int?
        public var clean: Double
        public var robust: [(name: String, value: Double)]
        public var drop: Double
        public init(model: String, precision: String, params: Int?, clean: Double,
                    robust: [(name: String, value: Double)], drop: Double) {
            self.model = model; self.precision = precision; self.params = params
            self.clean = clean; self.robust = robust; self.drop = drop
        }
        public init(_ r: EvalRecord) {
            self.init(model: r.model, precision: r.precision, params: r.params, clean: r.clean,
                      robust: r.perAttack.map { ($0.name, $0.robust) }, drop: r.drop)
        }
    }

    /// Parameter counts as in the study: "29M", "30.8M" style (one decimal below 10M: "1.0M").
    /// - Parameter n: the count.
    public static func params(_ n: Int) -> String {
        let d = Double(n)
        if d >= 1e9 { return String(format: "%.1fB", d / 1e9) }
        if d >= 1e7 { return "\(Int((d / 1e6).rounded()))M" }
        if d >= 1e6 { return String(format: "%.1fM", d / 1e6) }
        if d >= 1e4 { return "\(Int((d / 1e3).rounded()))K" }
        if d >= 1e3 { return String(format: "%.1fK", d / 1e3) }
        return "\(n)"
    }

    /// The rows as CSV: model, train_prec, params, clean, one robust column per attack ("PGD-5
    /// robust"), drop; values in percent, unrounded; fields with commas or quotes are quoted.
    public static func csv(_ rows: [Row]) -> String {
        var attackNames: [String] = []
        for r in rows { for a in r.robust where !attackNames.contains(a.name) { attackNames.append(a.name) } }
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var out = [(["model", "train_prec", "params", "clean"] + attackNames.map { "\($0) robust" } + ["drop"]).map(field).joined(separator: ",")]
        for r in rows {
            var line = [field(r.model), field(r.precision), r.params.map(String.init) ?? "", "\(r.clean)"]
            for name in attackNames { line.append(r.robust.first(where: { $0.name == name }).map { "\($0.value)" } ?? "") }
            line.append("\(r.drop)")
            out.append(line.joined(separator: ","))
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// The aligned table (pipe-separated, markdown-compatible).
    /// - Parameter rows: one row per model.
    public static func format(_ rows: [Row]) -> String {
        var attackNames: [String] = []
        for r in rows { for a in r.robust where !attackNames.contains(a.name) { attackNames.append(a.name) } }
        if attackNames.isEmpty { attackNames = ["PGD-5"] }
        let header = ["Model", "Train Prec", "Num Para", "Clean Acc@1"] + attackNames.map { "\($0) Acc@1" } + ["Relative Drop"]
        var cells: [[String]] = [header]
        for r in rows {
            var line = [r.model, r.precision, r.params.map(params) ?? "-", String(format: "%.2f%%", r.clean)]
            for name in attackNames {
                if let v = r.robust.first(where: { $0.name == name }) { line.append(String(format: "%.2f%%", v.value)) }
                else { line.append("-") }
            }
            line.append(String(format: "%.0f%%", r.drop))
            cells.append(line)
        }
        var widths = [Int](repeating: 0, count: header.count)
        for line in cells { for (i, c) in line.enumerated() { widths[i] = max(widths[i], c.count) } }
        func render(_ line: [String]) -> String {
            "| " + line.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: " | ") + " |"
        }
        var out = [render(header), "|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|"]
        for line in cells.dropFirst() { out.append(render(line)) }
        return out.joined(separator: "\n")
    }
}
