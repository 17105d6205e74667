// The script objects for figures and image grids. Shown as a value (REPL, print) a figure draws
// itself in braille at the terminal's size; its methods add series or panels and return the
// figure, so calls chain: plot(xs, a, label: "a").line(xs, b, label: "b").ylog().
import Engine
import Foundation
import Tensor

public final class FigureObject: HostObject, JSONConvertible {
    public var figure: Figure
    public init(_ f: Figure) { figure = f }
    public var typeName: String { "Figure" }

    public func describe(depth: Int) -> String {
        guard depth == 0 else { return "<Figure\(figure.title.map { " \"\($0)\"" } ?? "") with \(figure.panels.reduce(0) { $0 + $1.series.count }) series>" }
        let (w, h) = BrailleRenderer.terminalSize()
        return BrailleRenderer.render(figure, width: min(w, 120), height: max(10, min(h - 4, 30)), color: isatty(1) != 0)
    }

    public var memberNames: [String] { ["line", "points", "bars", "panel", "xlog", "ylog", "title", "series", "note"] }

    public func member(_ name: String) throws -> Value? {
        switch name {
        case "title": return figure.title.map { .string($0) } ?? .nil_
        case "series": return .number(Double(figure.panels.reduce(0) { $0 + $1.series.count }))
        case "note": return figure.note.map { .string($0) } ?? .nil_
        case "line", "points", "bars":
            let kind = Series.Kind(rawValue: name)!
            return method(name, "\(name)(xs, ys = nil, label: nil)",
                          "Adds a series drawn as \(name == "line" ? "a line" : name) to the figure's last panel (`ys` alone: xs are 0, 1, 2, ...); nan and inf points are skipped and counted in the figure's note. Returns the figure.") { [self] a, _ in
                let (xs, ys) = try FigureBuiltins.xy(a)
                let label = a.has("label") ? try a.string("label") : nil
                try figure.panels[figure.panels.count - 1].add(kind, xs: xs, ys: ys, label: label, what: a.callee)
                return .object(self)
            }
        case "panel":
            return method(name, "panel(title: nil, xlabel: nil, ylabel: nil)",
                          "Starts a new panel (axes) beside the others; later line/points/bars calls draw in it. Returns the figure.") { [self] a, _ in
                figure.panels.append(Panel(title: try FigureBuiltins.optString(a, "title"), xlabel: try FigureBuiltins.optString(a, "xlabel"),
                                           ylabel: try FigureBuiltins.optString(a, "ylabel")))
                return .object(self)
            }
        case "xlog", "ylog":
            return method(name, "\(name)(on = true)", "Uses a logarithmic \(name.prefix(1)) axis in the last panel (points at or below zero are skipped and counted in the note). Returns the figure.") { [self] a, _ in
                let on = try a.bool("on", at: 0, default: true)
                if name == "xlog" { figure.panels[figure.panels.count - 1].xlog = on } else { figure.panels[figure.panels.count - 1].ylog = on }
                return .object(self)
            }
        default: return nil
        }
    }

    func method(_ name: String, _ sig: String, _ doc: String, _ fn: @escaping (Arguments, CallContext) throws -> Value) -> Value {
        .builtin(Builtin("Figure.\(name)", sig, doc: doc) { a, ctx in
            var a = a
            a.callee = name
            return try fn(a, ctx)
        })
    }

    /// The figure's data: {title, panels: [{title, xlabel, ylabel, series: [{kind, label, xs, ys}]}]}.
    func jsonValue() -> Value {
        func opt(_ s: String?) -> Value { s.map { .string($0) } ?? .nil_ }
        return .record(RecordBox([("title", opt(figure.title)), ("panels", .list(ListBox(figure.panels.map { p in
            .record(RecordBox([("title", opt(p.title)), ("xlabel", opt(p.xlabel)), ("ylabel", opt(p.ylabel)),
                               ("series", .list(ListBox(p.series.map { s in
                                   .record(RecordBox([("kind", .string(s.kind.rawValue)), ("label", opt(s.label)),
                                                      ("xs", .list(ListBox(s.xs.map { .number($0) }))),
                                                      ("ys", .list(ListBox(s.ys.map { .number($0) })))]))
                               })))]))
        })))]))
    }
}

public final class GridObject: HostObject {
    var grid: ImageGrid
    init(_ g: ImageGrid) { grid = g }
    public var typeName: String { "Grid" }
    public func describe(depth: Int) -> String {
        let img = grid.blocks.first?.first
        return "<Grid of \(grid.count) example\(grid.count == 1 ? "" : "s") x \(grid.blocks.count) row\(grid.blocks.count == 1 ? "" : "s")\(img.map { ", \($0.width)x\($0.height)" } ?? "")\(grid.title.map { ": \($0)" } ?? "")>"
    }
    public var memberNames: [String] { ["count", "rows", "cols"] }
    public func member(_ name: String) throws -> Value? {
        switch name {
        case "count": return .number(Double(grid.count))
        case "rows": return .number(Double(grid.blocks.count))
        case "cols": return .number(Double(grid.cols))
        default: return nil
        }
    }
    public var length: Int? { grid.count }
}
