// Lays out a Figure as a Scene: per panel a frame, grid lines, ticks, labels, the series (long
// curves thinned, see thin()), a legend, then the figure's title and note (docs/figures.md).
import Foundation

enum FigureLayout {
    static let panelWidth = 520.0, panelHeight = 340.0

    static func scene(_ f: Figure) -> Scene {
        let cols = max(1, f.columns)
        let rows = (f.panels.count + cols - 1) / cols
        let top = f.title == nil ? 0.0 : 30.0
        let bottom = f.note == nil ? 0.0 : 22.0
        var s = Scene(width: Double(cols) * panelWidth, height: top + Double(rows) * panelHeight + bottom)
        s.shapes.append(.rect(x: 0, y: 0, w: s.width, h: s.height, fill: .white, stroke: nil))
        if let t = f.title {
            s.shapes.append(.text(t, Point(x: s.width / 2, y: 21), size: 16, anchor: .middle, .black, bold: true, vertical: false))
        }
        for (i, p) in f.panels.enumerated() {
            let ox = Double(i % cols) * panelWidth, oy = top + Double(i / cols) * panelHeight
            s.shapes.append(.begin(cls: "panel", label: p.title))
            panel(p, x: ox, y: oy, into: &s.shapes)
            s.shapes.append(.end)
        }
        if let n = f.note {
            s.shapes.append(.begin(cls: "note", label: nil))
            s.shapes.append(.text("Note: " + n, Point(x: 12, y: s.height - 7), size: 12, anchor: .start, RGB(0.6, 0.25, 0.1), bold: false, vertical: false))
            s.shapes.append(.end)
        }
        return s
    }

    static func panel(_ p: Panel, x ox: Double, y oy: Double, into out: inout [Shape]) {
        let left = ox + 66, right = ox + panelWidth - 16
        let top = oy + (p.title == nil ? 14 : 34), bottom = oy + panelHeight - (p.xlabel == nil ? 30 : 46)
        let visible = p.series.map { s in zip(s.xs, s.ys).filter { (!p.xlog || $0.0 > 0) && (!p.ylog || $0.1 > 0) } }
        let hasBars = p.series.contains { $0.kind == .bars }
        var (x0, x1) = dataRange(visible.flatMap { $0.map(\.0) }, log: p.xlog, includeZero: false)
        if hasBars && !p.xlog {
            let xsAll = Set(visible.flatMap { $0.map(\.0) }).sorted()
            let gap = zip(xsAll, xsAll.dropFirst()).map { $1 - $0 }.min() ?? 1
            x0 = (xsAll.first ?? 0) - gap * 0.6; x1 = (xsAll.last ?? 1) + gap * 0.6
        }
        let (y0, y1) = dataRange(visible.flatMap { $0.map(\.1) }, log: p.ylog, includeZero: hasBars)
        func fx(_ v: Double) -> Double {
            let t = p.xlog ? (log10(v) - log10(x0)) / (log10(x1) - log10(x0)) : (v - x0) / (x1 - x0)
            return left + t * (right - left)
        }
        func fy(_ v: Double) -> Double {
            let t = p.ylog ? (log10(v) - log10(y0)) / (log10(y1) - log10(y0)) : (v - y0) / (y1 - y0)
            return bottom - t * (bottom - top)
        }
        // Grid and ticks.
        for v in ticks(y0, y1, log: p.ylog) {
            let y = fy(v)
            out.append(.polyline([Point(x: left, y: y), Point(x: right, y: y)], .grid, width: 1))
            out.append(.text(tickLabel(v), Point(x: left - 6, y: y + 4), size: 11, anchor: .end, .axis, bold: false, vertical: false))
        }
        for v in ticks(x0, x1, log: p.xlog) {
            let x = fx(v)
            out.append(.polyline([Point(x: x, y: top), Point(x: x, y: bottom)], .grid, width: 1))
            out.append(.text(tickLabel(v), Point(x: x, y: bottom + 15), size: 11, anchor: .middle, .axis, bold: false, vertical: false))
        }
        out.append(.rect(x: left, y: top, w: right - left, h: bottom - top, fill: nil, stroke: .axis))
        if let t = p.title {
            out.append(.text(t, Point(x: (left + right) / 2, y: oy + 22), size: 14, anchor: .middle, .black, bold: true, vertical: false))
        }
        if let xl = p.xlabel {
            out.append(.text(xl, Point(x: (left + right) / 2, y: bottom + 34), size: 12, anchor: .middle, .black, bold: false, vertical: false))
        }
        if let yl = p.ylabel {
            out.append(.text(yl, Point(x: ox + 16, y: (top + bottom) / 2), size: 12, anchor: .middle, .black, bold: false, vertical: true))
        }
        // Series.
        let bars = p.series.indices.filter { p.series[$0].kind == .bars }
        // Bars first, so lines and points stay visible on top of them.
        let order = p.series.indices.filter { p.series[$0].kind == .bars } + p.series.indices.filter { p.series[$0].kind != .bars }
        for i in order {
            let s = p.series[i]
            let c = RGB.series(i)
            let pts = visible[i]
            out.append(.begin(cls: "series", label: s.label ?? "series \(i + 1)"))
            switch s.kind {
            case .line:
                let (tx, ty) = thin(pts.map(\.0), pts.map(\.1))
                out.append(.polyline(zip(tx, ty).map { Point(x: fx($0), y: fy($1)) }, c, width: 2))
                if pts.count <= 30 { for (x, y) in pts { out.append(.circle(Point(x: fx(x), y: fy(y)), radius: 2.5, c)) } }
            case .points:
                let (tx, ty) = pts.count > 2000 ? thin(pts.map(\.0), pts.map(\.1), buckets: 1000) : (pts.map(\.0), pts.map(\.1))
                for (x, y) in zip(tx, ty) { out.append(.circle(Point(x: fx(x), y: fy(y)), radius: 3, c)) }
            case .bars:
                let xsAll = Set(visible.flatMap { $0.map(\.0) }).sorted()
                let gap = zip(xsAll, xsAll.dropFirst()).map { $1 - $0 }.min() ?? 1
                let k = bars.firstIndex(of: i) ?? 0
                let w = (fx(x0 + gap) - fx(x0)) * 0.8 / Double(max(1, bars.count))
                let base = fy(p.ylog ? y0 : max(y0, min(0, y1)))
                for (x, y) in pts {
                    let cx = fx(x) - w * Double(bars.count) / 2 + w * Double(k)
                    out.append(.rect(x: cx, y: min(fy(y), base), w: max(1, w - 1), h: abs(base - fy(y)), fill: c, stroke: nil))
                }
            }
            out.append(.end)
        }
        // Legend (top right inside the frame) when any series has a label.
        let labelled = p.series.enumerated().filter { $0.element.label != nil }
        guard !labelled.isEmpty else { return }
        let w = (labelled.map { textWidth($0.element.label ?? "", size: 11) }.max() ?? 0) + 34
        let h = Double(labelled.count) * 16 + 8
        // The corner whose box covers the fewest data points (top right when tied).
        let pts = visible.flatMap { $0 }.map { Point(x: fx($0.0), y: fy($0.1)) }
        let corners = [(right - w - 6, top + 6), (left + 6, top + 6), (right - w - 6, bottom - h - 6), (left + 6, bottom - h - 6)]
        let (lx, ly) = corners.min { a, b in
            func covered(_ c: (Double, Double)) -> Int { pts.filter { $0.x >= c.0 - 4 && $0.x <= c.0 + w + 4 && $0.y >= c.1 - 4 && $0.y <= c.1 + h + 4 }.count }
            return covered(a) < covered(b)
        }!
        out.append(.begin(cls: "legend", label: nil))
        out.append(.rect(x: lx, y: ly, w: w, h: h, fill: RGB(1, 1, 1), stroke: RGB(0.8, 0.8, 0.8)))
        for (row, (i, s)) in labelled.enumerated() {
            let y = ly + 12 + Double(row) * 16
            let c = RGB.series(i)
            if s.kind == .line {
                out.append(.polyline([Point(x: lx + 6, y: y), Point(x: lx + 24, y: y)], c, width: 2))
            } else {
                out.append(.rect(x: lx + 10, y: y - 4, w: 8, h: 8, fill: c, stroke: nil))
            }
            out.append(.text(s.label ?? "", Point(x: lx + 29, y: y + 4), size: 11, anchor: .start, .black, bold: false, vertical: false))
        }
        out.append(.end)
    }
}
