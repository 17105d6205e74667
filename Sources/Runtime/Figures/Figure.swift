// Figures as data (docs/figures.md): a figure is panels of axes, each with series (lines, points,
// bars) and its scales. Values that cannot be drawn (nan, inf; zero or negative on a log axis) are
// skipped and counted, and the figure says so in a note. Renderers: FigureLayout (-> Scene ->
// SVG or PNG through cairo) and BrailleRenderer (the terminal).
import Foundation

/// One data series of a panel.
public struct Series {
    public enum Kind: String, CaseIterable { case line, points, bars }
    public var kind: Kind
    public var label: String?
    public var xs: [Double]
    public var ys: [Double]
}

/// One set of axes.
public struct Panel {
    public var title: String?
    public var xlabel: String?
    public var ylabel: String?
    public var xlog = false
    public var ylog = false
    public var series: [Series] = []
    /// Points left out because x or y was nan or inf.
    public var skipped = 0

    public init(title: String? = nil, xlabel: String? = nil, ylabel: String? = nil) {
        self.title = title
        self.xlabel = xlabel
        self.ylabel = ylabel
    }

    /// Adds a series after checking its data; nan/inf points are dropped and counted.
    /// - Throws: `RuntimeError.value` naming `what` for empty data or mismatched lengths.
    public mutating func add(_ kind: Series.Kind, xs: [Double], ys: [Double], label: String?, what: String) throws {
        guard !ys.isEmpty else { throw RuntimeError.value("\(what): no data ('ys' is empty)") }
        guard xs.count == ys.count else {
            throw RuntimeError.value("\(what): 'xs' has \(xs.count) values but 'ys' has \(ys.count); they must have the same length")
        }
        var kx: [Double] = [], ky: [Double] = []
        for (x, y) in zip(xs, ys) {
            if x.isFinite && y.isFinite { kx.append(x); ky.append(y) } else { skipped += 1 }
        }
        series.append(Series(kind: kind, label: label, xs: kx, ys: ky))
    }

    /// Points a log axis cannot show (x or y <= 0), counted at drawing time.
    var nonPositive: Int {
        series.reduce(0) { n, s in
            n + zip(s.xs, s.ys).filter { (xlog && $0.0 <= 0) || (ylog && $0.1 <= 0) }.count
        }
    }
}

/// A figure: one or more panels side by side, an optional overall title.
public struct Figure {
    public var title: String?
    public var panels: [Panel]
    /// Panels per row.
    public var columns: Int { min(panels.count, 3) }

    public init(title: String? = nil, panels: [Panel]) {
        self.title = title
        self.panels = panels
    }

    /// The note shown under the figure about values left out ("3 points skipped: nan or inf"), or nil.
    public var note: String? {
        let bad = panels.reduce(0) { $0 + $1.skipped }
        let logBad = panels.reduce(0) { $0 + $1.nonPositive }
        var parts: [String] = []
        if bad > 0 { parts.append("\(bad) point\(bad == 1 ? "" : "s") skipped: nan or inf") }
        if logBad > 0 { parts.append("\(logBad) point\(logBad == 1 ? "" : "s") skipped: not positive on a log axis") }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }
}

/// The series colours (Tableau 10, as matplotlib's default cycle).
let palette: [(Double, Double, Double)] = [
    0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf,
].map { (rgb: Int) -> (Double, Double, Double) in
    (Double((rgb >> 16) & 255) / 255, Double((rgb >> 8) & 255) / 255, Double(rgb & 255) / 255)
}

/// Keeps at most about `2 * buckets` points of a long curve: in each bucket of consecutive points
/// the lowest and highest, in their order, so the drawn shape (spikes included) is kept.
func thin(_ xs: [Double], _ ys: [Double], buckets: Int = 400) -> ([Double], [Double]) {
    let n = xs.count
    guard n > 2 * buckets + 2 else { return (xs, ys) }
    var ox = [xs[0]], oy = [ys[0]]
    for b in 0..<buckets {
        let lo = 1 + b * (n - 2) / buckets, hi = 1 + (b + 1) * (n - 2) / buckets
        guard lo < hi else { continue }
        var iMin = lo, iMax = lo
        for i in lo..<hi {
            if ys[i] < ys[iMin] { iMin = i }
            if ys[i] > ys[iMax] { iMax = i }
        }
        for i in (iMin == iMax ? [iMin] : [min(iMin, iMax), max(iMin, iMax)]) {
            ox.append(xs[i]); oy.append(ys[i])
        }
    }
    ox.append(xs[n - 1]); oy.append(ys[n - 1])
    return (ox, oy)
}

/// Axis ticks: about `target` round values covering [lo, hi] (1, 2, 2.5, 5 x 10^k steps), or
/// powers of ten (with 2 and 5 between when the range is short) on a log axis.
func ticks(_ lo: Double, _ hi: Double, log: Bool, target: Int = 5) -> [Double] {
    if log {
        let a = floor(log10(lo)), b = ceil(log10(hi))
        var t: [Double] = []
        for e in stride(from: a, through: b, by: 1) {
            for m in (b - a <= 2 ? [1.0, 2, 5] : [1.0]) {
                let v = m * pow(10, e)
                if v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9) { t.append(v) }
            }
        }
        return t.isEmpty ? [lo, hi] : t
    }
    let step = niceStep((hi - lo) / Double(target))
    var t: [Double] = []
    var v = (lo / step).rounded(.up) * step
    while v <= hi + step * 1e-9 { t.append(abs(v) < step * 1e-9 ? 0 : v); v += step }
    return t
}

func niceStep(_ raw: Double) -> Double {
    guard raw > 0, raw.isFinite else { return 1 }
    let mag = pow(10, floor(log10(raw)))
    let f = raw / mag
    let m: Double = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10
    return m * mag
}

/// A tick label: short, no trailing zeros ("0.25", "1e-3", "100", "12k").
func tickLabel(_ v: Double) -> String {
    if v == 0 { return "0" }
    let a = abs(v)
    if a >= 1e5 || a < 1e-3 {
        let e = Int(floor(log10(a)))
        let m = v / pow(10, Double(e))
        return (abs(m - m.rounded()) < 1e-9 ? formatNumber(m.rounded()) : String(format: "%.1f", m)) + "e\(e)"
    }
    var s = String(format: "%.4f", v)
    while s.contains("."), s.hasSuffix("0") { s.removeLast() }
    if s.hasSuffix(".") { s.removeLast() }
    return s
}

/// The data range of a panel's axis with a little padding (bars include 0), as (lo, hi).
func dataRange(_ values: [Double], log: Bool, includeZero: Bool) -> (Double, Double) {
    var v = log ? values.filter { $0 > 0 } : values
    if includeZero && !log { v.append(0) }
    guard var lo = v.min(), var hi = v.max() else { return log ? (1, 10) : (0, 1) }
    if log {
        if lo == hi { lo /= 2; hi *= 2 }
        return (lo, hi)
    }
    if lo == hi { lo -= lo == 0 ? 1 : abs(lo) * 0.1; hi += hi == 0 ? 1 : abs(hi) * 0.1 }
    let pad = (hi - lo) * 0.05
    return (lo < 0 || !includeZero || lo != 0 ? lo - pad : lo, hi + pad)
}
