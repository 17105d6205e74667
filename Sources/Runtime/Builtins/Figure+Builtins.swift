// Builtins: figures and image grids (docs/figures.md): plot, grid, show, and save(fig, path)
// for .svg and .png (save(m, path) still saves models).
import Engine
import Foundation
import Tensor

enum FigureBuiltins {
    static func register(into t: inout BuiltinTable) {
        t.add("plot", "plot(xs, ys = nil, label: nil, title: nil, xlabel: nil, ylabel: nil, kind: \"line\", xlog: false, ylog: false)",
              doc: """
                  A figure: `ys` against `xs` (lists of numbers or tensors; `plot(ys)` alone uses 0,
                  1, 2, ...) drawn as kind \"line\", \"points\" or \"bars\".

                  Add series with fig.line/points/bars(xs, ys, label:) (labels make a legend),
                  panels with fig.panel(...), log axes with fig.xlog()/ylog(). Given a fit() result
                  it draws the training curves (loss, clean and adversarial training accuracy,
                  learning rate against epoch); given a sweep() result or a list of them, robust
                  accuracy against eps with one line per model. nan and inf points are skipped and
                  counted in a note on the figure; empty data and xs/ys of different lengths are
                  errors. Shown as a value it draws in the terminal; save(fig, \"f.svg\" |
                  \"f.png\") writes it; in a notebook report it appears as SVG.
                  """) { a, _ in
            let title = try optString(a, "title")
            var fig: Figure
            switch a.value("xs", at: 0) {
            case .record(let r)? where DomainFigures.isFit(r) && !a.has("ys", at: 1):
                fig = try DomainFigures.training(r, title: title)
            case let v? where DomainFigures.isSweep(v) && !a.has("ys", at: 1):
                fig = try DomainFigures.sweep([v], title: title)
            case .list(let l)? where !l.items.isEmpty && l.items.allSatisfy(DomainFigures.isSweep) && !a.has("ys", at: 1):
                fig = try DomainFigures.sweep(l.items, title: title)
            default:
                let (xs, ys) = try xy(a)
                let kind = Series.Kind(rawValue: try a.choice("kind", Series.Kind.allCases.map(\.rawValue), default: "line")) ?? .line
                var p = Panel(title: nil, xlabel: try optString(a, "xlabel"), ylabel: try optString(a, "ylabel"))
                try p.add(kind, xs: xs, ys: ys, label: try optString(a, "label"), what: "plot")
                fig = Figure(title: title, panels: [p])
            }
            let last = fig.panels.count - 1
            if let x = try optString(a, "xlabel") { fig.panels[last].xlabel = x }
            if let y = try optString(a, "ylabel") { fig.panels[last].ylabel = y }
            fig.panels[last].xlog = try a.bool("xlog", default: false)
            fig.panels[last].ylog = try a.bool("ylog", default: false)
            return .object(FigureObject(fig))
        }

        t.add("grid", "grid(images, labels: nil, cols: 8, titles: nil, title: nil)",
              doc: """
                  An image grid: `images` is an N x C x H x W tensor (C = 1 or 3, pixels in [0, 1])
                  or a list of such tensors with the same N, e.g. [x, x_adv, x_adv - x]: one column
                  per example, one row per tensor, wrapped every `cols` examples.

                  A tensor with negative values (a perturbation) is scaled to be visible (0.5 + d /
                  (2 max|d|)) and its row title says by how much. `labels`: one string or number per
                  example (under the first row), or one such list per row (e.g. true labels under
                  the clean row, predicted under the adversarial one). `titles`: one per row.
                  save(g, \"g.png\"|\"g.svg\") draws it with labels; save_image(g, path) writes the
                  images alone.
                  """) { a, _ in
            return .object(GridObject(try grid(a)))
        }

        t.add("show", "show(value)",
              doc: "Displays a value: in a notebook report (adv notebook, :report) as what it is (a figure or grid as an image, a table or a list of records as a table); in a script or the REPL as text (a figure draws in the terminal). Returns nil.") { a, ctx in
            guard let v = a.value("value", at: 0) else { throw RuntimeError.arguments("show: missing argument 'value'") }
            if let i = ctx as? Interpreter, let d = i.display { d(v) } else { ctx.write(v.display() + "\n") }
            return .nil_
        }

        // save(fig | grid, path) next to save(m, path).
        if let prior = t.byName["save"] {
            t.add(Builtin("save", "save(x, path)",
                  doc: "Saves `x` to `path`, atomically.\n\nA figure or grid as SVG (path ending in .svg) or PNG (.png, rasterized by cairo at twice the pixel size); otherwise " + prior.doc,
                  checksArguments: false) { args, ctx in
                guard case .object(let o)? = args.positional.first ?? args.value("x"), o is FigureObject || o is GridObject else {
                    return try prior.call(args, ctx)
                }
                var a = args
                a.callee = "save"
                try a.check(allowed: ["x", "path"], maxPositional: 2)
                let path = try a.string("path", at: 1)
                let scene = (o as? FigureObject).map { FigureLayout.scene($0.figure) } ?? (o as! GridObject).grid.scene()
                let data: Data
                switch URL(fileURLWithPath: path).pathExtension.lowercased() {
                case "svg": data = Data(SVGRenderer.render(scene).utf8)
                case "png": data = Data(try CairoRenderer.png(scene, scale: o is GridObject ? 1 : 2))
                default: throw RuntimeError.arguments("save: argument 'path' must end in .svg or .png for a \(o.typeName), got \"\(path)\"")
                }
                try FilesBuiltins.writeFile(data, path, "save")
                return .nil_
            })
        }
    }

    // MARK: helpers

    static func optString(_ a: Arguments, _ name: String) throws -> String? {
        a.has(name) ? try a.string(name) : nil
    }

    /// Numbers from a list or a tensor (flattened).
    static func numbers(_ a: Arguments, _ name: String, at i: Int?) throws -> [Double] {
        if case .object(let o)? = a.value(name, at: i), let t = o as? TensorObject {
            return UnsafeBufferPointer(start: t.tensor.ptr, count: t.tensor.count).map(Double.init)
        }
        guard let v = a.value(name, at: i) else { throw RuntimeError.arguments("\(a.callee): missing argument '\(name)'") }
        guard case .list(let l) = v else { throw RuntimeError.type("\(a.callee): argument '\(name)' must be a list of numbers or a tensor, got \(v.typeName)") }
        return try l.items.enumerated().map { k, x in
            switch x {
            case .number(let d): return d
            case .nil_: return .nan
            case .object(let o) where (o as? TensorObject)?.tensor.count == 1: return Double((o as! TensorObject).tensor.item)
            default: throw RuntimeError.type("\(a.callee): element \(k + 1) of '\(name)' must be a number, got \(x.typeName)")
            }
        }
    }

    /// The xs and ys of a plot call; ys alone plots against 0, 1, 2, ...
    static func xy(_ a: Arguments) throws -> ([Double], [Double]) {
        if a.has("ys", at: 1) { return (try numbers(a, "xs", at: 0), try numbers(a, "ys", at: 1)) }
        let ys = try numbers(a, "xs", at: 0)
        return (ys.indices.map(Double.init), ys)
    }

    static func grid(_ a: Arguments) throws -> ImageGrid {
        guard let v = a.value("images", at: 0) else { throw RuntimeError.arguments("grid: missing argument 'images'") }
        var tensors: [Tensor] = []
        if case .list(let l) = v {
            tensors = try l.items.enumerated().map { try TensorObject.from($1, what: "grid: element \($0 + 1) of 'images'") }
        } else {
            tensors = [try TensorObject.from(v, what: "grid: argument 'images'")]
        }
        guard !tensors.isEmpty else { throw RuntimeError.value("grid: 'images' is an empty list") }
        var blocks: [[PixelImage]] = [], scales: [Double?] = []
        for (i, t) in tensors.enumerated() {
            let (imgs, s) = try ImageGrid.images(t, what: tensors.count == 1 ? "'images'" : "element \(i + 1) of 'images'")
            if let f = blocks.first {
                guard imgs.count == f.count, imgs[0].width == f[0].width, imgs[0].height == f[0].height else {
                    throw RuntimeError.value("grid: element \(i + 1) of 'images' has shape \(t.shape), unlike the first element (\(f.count) images of \(f[0].height)x\(f[0].width))")
                }
            }
            blocks.append(imgs)
            scales.append(s)
        }
        let n = blocks[0].count
        let cols = try a.int("cols", default: min(n, 8))
        guard cols >= 1 else { throw RuntimeError.arguments("grid: cols must be >= 1, got \(cols)") }
        var titles: [String?] = Array(repeating: nil, count: blocks.count)
        if a.has("titles") {
            let items = try a.list("titles")
            guard items.count == blocks.count else {
                throw RuntimeError.value("grid: 'titles' has \(items.count) entries but there are \(blocks.count) rows of images")
            }
            titles = items.map { $0.display() }
        }
        for (b, s) in scales.enumerated() {
            if let s = s { titles[b] = (titles[b] ?? "perturbation") + String(format: " (x%.3g)", s) }
        }
        var labels = Array(repeating: Array(repeating: "", count: n), count: blocks.count)
        if a.has("labels") {
            let items = try a.list("labels")
            let nested = items.allSatisfy { if case .list = $0 { return true }; return false } && !items.isEmpty
            let rows: [[Value]] = nested ? items.map { if case .list(let l) = $0 { return l.items }; return [] } : [items]
            guard rows.count <= blocks.count else {
                throw RuntimeError.value("grid: 'labels' has \(rows.count) lists but there are \(blocks.count) rows of images")
            }
            for (b, r) in rows.enumerated() {
                guard r.count == n else { throw RuntimeError.value("grid: 'labels'\(nested ? " list \(b + 1)" : "") has \(r.count) entries but there are \(n) images") }
                labels[b] = r.map { if case .nil_ = $0 { return "" }; return $0.display() }
            }
        }
        return ImageGrid(blocks: blocks, titles: titles, labels: labels, cols: cols, title: try optString(a, "title"))
    }
}
