// How tensors print, as PyTorch prints them: a header with the shape and dtype, then the values
// in nested rows with aligned columns, `precision` significant digits (4 by default), and
// summarised with `...` (the first and last 3 entries of each dimension) beyond `threshold`
// elements. `print_options(precision:, threshold:)` changes the session's settings
// (docs/language.md, "Printing tensors").
import Engine
import Tensor
import Foundation

/// The tensor printing settings of one session.
public final class PrintOptions {
    /// Significant digits of the largest shown value (1...17).
    public var precision = 4
    /// More elements than this print summarised.
    public var threshold = 1000
    /// Entries kept at each end of a summarised dimension.
    public var edgeItems = 3
    /// Lines of values wrap at this width.
    public var lineWidth = 80
    public init() {}

    /// The options of the session whose code is running (set by `Interpreter.execute`, restored
    /// when it returns), so each interpreter prints with its own settings.
    nonisolated(unsafe) static var active = PrintOptions()
}

enum TensorFormat {
    /// `Tensor([2, 3], float32)` and the values: on the same line for scalars and vectors, below
    /// it in nested rows otherwise.
    static func format(_ t: Tensor, _ o: PrintOptions) -> String {
        let header = "Tensor(\(t.shape), float32)"
        if t.count == 0 { return header + " []" }
        let summarize = t.count > o.threshold
        let shown = shownIndices(t.shape, summarize: summarize, edge: o.edgeItems)
        let cell = cellFormatter(values: shownValues(t, shown), precision: o.precision)
        let body = block(t, shown: shown, dim: 0, offset: 0, cell: cell, lineWidth: o.lineWidth)
        return header + (t.rank <= 1 && !body.contains("\n") ? " " : "\n") + body
    }

    /// Per dimension, the indices shown (nil: the `...` of a summarised dimension).
    static func shownIndices(_ shape: [Int], summarize: Bool, edge: Int) -> [[Int?]] {
        shape.map { (n: Int) -> [Int?] in
            let all: [Int?] = (0..<n).map { $0 }
            guard summarize, n > 2 * edge else { return all }
            return Array(all[0..<edge]) + [nil] + Array(all[(n - edge)...])
        }
    }

    /// The values that will print (for the common width and style).
    static func shownValues(_ t: Tensor, _ shown: [[Int?]]) -> [Float] {
        if t.rank == 0 { return [t.ptr[0]] }
        var strides = [Int](repeating: 1, count: t.rank)
        for d in stride(from: t.rank - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * t.shape[d + 1] }
        var out: [Float] = []
        func walk(_ d: Int, _ off: Int) {
            for i in shown[d] {
                guard let i = i else { continue }
                if d == t.rank - 1 { out.append(t.ptr[off + i]) } else { walk(d + 1, off + i * strides[d]) }
            }
        }
        walk(0, 0)
        return out
    }

    /// One style for all shown values, right-aligned to a common width: whole numbers as
    /// integers; otherwise fixed point with `precision` significant digits for the largest
    /// magnitude, or scientific when magnitudes span more than 1e3 or leave [1e-4, 1e8).
    static func cellFormatter(values: [Float], precision: Int) -> (Float) -> String {
        let finite = values.filter(\.isFinite).map { abs(Double($0)) }
        let p = max(1, min(precision, 17))
        let style: (Double) -> String
        if finite.allSatisfy({ $0 == $0.rounded() && $0 < 1e8 }) {
            style = { String(format: "%.0f", $0) }
        } else {
            let maxAbs = finite.max() ?? 0
            let minAbs = finite.filter { $0 > 0 }.min() ?? maxAbs
            if maxAbs >= 1e8 || minAbs < 1e-4 || (minAbs > 0 && maxAbs / minAbs > 1e3) {
                style = { String(format: "%.\(p - 1)e", $0) }
            } else {
                let decimals = max(0, p - 1 - Int(floor(log10(maxAbs))))
                style = { String(format: "%.\(decimals)f", $0) }
            }
        }
        let special: (Float) -> String? = { v in v.isNaN ? "nan" : v.isInfinite ? (v < 0 ? "-inf" : "inf") : nil }
        let width = values.map { special($0) ?? style(Double($0)) }.map(\.count).max() ?? 1
        return { v in
            let s = special(v) ?? style(Double(v))
            return String(repeating: " ", count: max(0, width - s.count)) + s
        }
    }

    /// The nested rows of dimension `dim` from element `offset`: `[a, b]` for the last
    /// dimension (wrapped at `lineWidth`), rows separated by one newline per remaining dimension.
    static func block(_ t: Tensor, shown: [[Int?]], dim: Int, offset: Int, cell: (Float) -> String, lineWidth: Int) -> String {
        if t.rank == 0 { return cell(t.ptr[0]) }
        let stride = t.shape[(dim + 1)...].reduce(1, *)
        let indent = String(repeating: " ", count: dim + 1)
        if dim == t.rank - 1 {
            let items = shown[dim].map { $0.map { cell(t.ptr[offset + $0]) } ?? "..." }
            var lines: [String] = []
            var line = ""
            for (k, item) in items.enumerated() {
                let piece = item + (k < items.count - 1 ? "," : "")
                if !line.isEmpty && indent.count + line.count + 1 + piece.count > lineWidth {
                    lines.append(line)
                    line = piece
                } else {
                    line += (line.isEmpty ? "" : " ") + piece
                }
            }
            lines.append(line)
            return "[" + lines.joined(separator: "\n" + indent) + "]"
        }
        let rows = shown[dim].map { i in
            i.map { block(t, shown: shown, dim: dim + 1, offset: offset + $0 * stride, cell: cell, lineWidth: lineWidth) } ?? "..."
        }
        let sep = "," + String(repeating: "\n", count: t.rank - dim - 1) + indent
        return "[" + rows.joined(separator: sep) + "]"
    }
}
