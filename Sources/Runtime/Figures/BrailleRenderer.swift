// Figures drawn in the terminal with Unicode braille characters (each character a 2 x 4 grid of
// dots, as UnicodePlots.jl does): y range on the left, x range below, a legend line, series in
// ANSI colours when `color` is on. Used when the REPL shows a figure (docs/figures.md).
import Foundation

enum BrailleRenderer {
    /// The terminal's size in characters (columns, rows), or 80 x 24 when unknown.
    static func terminalSize() -> (Int, Int) {
        var w = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &w) == 0, w.ws_col > 0, w.ws_row > 0 { return (Int(w.ws_col), Int(w.ws_row)) }
        let env = ProcessInfo.processInfo.environment
        return (env["COLUMNS"].flatMap(Int.init) ?? 80, env["LINES"].flatMap(Int.init) ?? 24)
    }

    /// The figure as lines of text at most `width` characters wide and `height` lines high.
    static func render(_ f: Figure, width: Int, height: Int, color: Bool) -> String {
        var out: [String] = []
        if let t = f.title { out.append(center(t, width)) }
        let avail = max(6, height - out.count - (f.note == nil ? 0 : 1))
        let each = max(6, avail / max(1, f.panels.count))
        for p in f.panels { out += panel(p, width: width, height: each, color: color) }
        if let n = f.note { out.append("note: " + n) }
        return out.joined(separator: "\n")
    }

    /// An axis end label with three significant digits ("9.45", "-1.1", "1e+03").
    static func short(_ v: Double) -> String {
        let s = String(format: "%.3g", v)
        return s == "-0" ? "0" : s
    }

    static func center(_ s: String, _ w: Int) -> String {
        String(repeating: " ", count: max(0, (w - s.count) / 2)) + s
    }

    static func panel(_ p: Panel, width: Int, height: Int, color: Bool) -> [String] {
        var lines: [String] = []
        if let t = p.title { lines.append(center(t, width)) }
        let visible = p.series.map { s in zip(s.xs, s.ys).filter { (!p.xlog || $0.0 > 0) && (!p.ylog || $0.1 > 0) } }
        let hasBars = p.series.contains { $0.kind == .bars }
        let (x0, x1) = dataRange(visible.flatMap { $0.map(\.0) }, log: p.xlog, includeZero: false)
        let (y0, y1) = dataRange(visible.flatMap { $0.map(\.1) }, log: p.ylog, includeZero: hasBars)
        let hiLabel = short(y1), loLabel = short(y0)
        let lw = max(hiLabel.count, loLabel.count) + 1
        let hasFoot = p.ylabel != nil || p.series.contains { $0.label != nil }
        let cols = max(10, width - lw - 1), rows = max(3, height - lines.count - 2 - (hasFoot ? 1 : 0))
        let dw = cols * 2, dh = rows * 4
        var bits = [UInt8](repeating: 0, count: cols * rows)
        var owner = [Int](repeating: -1, count: cols * rows)
        func tx(_ v: Double) -> Double { p.xlog ? log10(v) : v }
        func ty(_ v: Double) -> Double { p.ylog ? log10(v) : v }
        func dx(_ v: Double) -> Int { Int(((tx(v) - tx(x0)) / (tx(x1) - tx(x0)) * Double(dw - 1)).rounded()) }
        func dy(_ v: Double) -> Int { dh - 1 - Int(((ty(v) - ty(y0)) / (ty(y1) - ty(y0)) * Double(dh - 1)).rounded()) }
        func set(_ x: Int, _ y: Int, _ s: Int) {
            guard x >= 0, x < dw, y >= 0, y < dh else { return }
            let c = (y / 4) * cols + x / 2
            let bit: [[UInt8]] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]]
            bits[c] |= bit[x % 2][y % 4]
            owner[c] = s
        }
        for (i, s) in p.series.enumerated() {
            let pts = visible[i].map { (dx($0.0), dy($0.1)) }
            switch s.kind {
            case .line:
                if pts.count == 1 { set(pts[0].0, pts[0].1, i) }
                for (a, b) in zip(pts, pts.dropFirst()) {
                    let n = max(abs(b.0 - a.0), abs(b.1 - a.1), 1)
                    for k in 0...n { set(a.0 + (b.0 - a.0) * k / n, a.1 + (b.1 - a.1) * k / n, i) }
                }
            case .points:
                for q in pts { set(q.0, q.1, i) }
            case .bars:
                let base = dy(p.ylog ? y0 : max(y0, min(0, y1)))
                for q in pts { for y in min(q.1, base)...max(q.1, base) { set(q.0, y, i) } }
            }
        }
        let colors = [34, 33, 32, 31, 35, 36, 91, 90, 93, 96]
        for r in 0..<rows {
            let label = r == 0 ? hiLabel : r == rows - 1 ? loLabel : ""
            var line = String(repeating: " ", count: lw - label.count) + label + (r == 0 || r == rows - 1 ? "┤" : "│")
            for c in 0..<cols {
                let k = r * cols + c
                if bits[k] == 0 { line += " "; continue }
                let ch = String(UnicodeScalar(0x2800 + UInt32(bits[k]))!)
                line += color ? "\u{1B}[\(colors[owner[k] % colors.count])m\(ch)\u{1B}[0m" : ch
            }
            lines.append(line)
        }
        lines.append(String(repeating: " ", count: lw) + "└" + String(repeating: "─", count: cols))
        let xl = short(x0), xh = short(x1)
        let mid = p.xlabel.map { center($0, cols - xl.count - xh.count) } ?? ""
        var axis = String(repeating: " ", count: lw + 1) + xl + mid
        axis += String(repeating: " ", count: max(1, lw + 1 + cols - axis.count - xh.count)) + xh
        lines.append(axis)
        let legend = p.series.enumerated().compactMap { i, s -> String? in
            guard let l = s.label else { return nil }
            let mark = s.kind == .line ? "━━" : s.kind == .bars ? "█" : "•"
            return (color ? "\u{1B}[\(colors[i % colors.count])m\(mark)\u{1B}[0m" : mark) + " " + l
        }
        let yl = p.ylabel.map { "y: \($0)" }
        let foot = (yl.map { [$0] } ?? []) + legend
        if !foot.isEmpty { lines.append(String(repeating: " ", count: lw + 1) + foot.joined(separator: "   ")) }
        return lines
    }
}
