// Figures made from results (docs/figures.md): a fit() result as training curves (loss, clean and
// adversarial training accuracy, learning rate against epoch) and sweep() results as robust
// accuracy against eps, one line per model.
import Foundation

enum DomainFigures {
    /// Numbers of a record field that is a list (nil entries become nan, skipped when drawn).
    static func column(_ r: RecordBox, _ k: String) -> [Double]? {
        guard case .list(let l)? = r[k] else { return nil }
        return l.items.map { if case .number(let d) = $0 { return d }; return .nan }
    }

    /// Is `v` a fit() result (it has `epochs`, a list of records, and `steps`)?
    static func isFit(_ r: RecordBox) -> Bool { r["steps"] != nil && r["epochs"] != nil }
    /// Is `v` a sweep() result (lists `eps` and `robust`)?
    static func isSweep(_ v: Value) -> Bool {
        guard case .record(let r) = v else { return false }
        return column(r, "eps") != nil && column(r, "robust") != nil
    }

    /// Training curves of a fit() result: per step when it has `history`, else per epoch.
    static func training(_ r: RecordBox, title: String?) throws -> Figure {
        var xs: [Double], loss: [Double], clean: [Double], adv: [Double], lr: [Double]?
        if case .record(let h)? = r["history"], let e = column(h, "epoch"), !e.isEmpty {
            xs = e
            loss = column(h, "loss") ?? []
            clean = column(h, "clean") ?? []
            adv = column(h, "adv") ?? []
            lr = column(h, "lr")
        } else {
            guard case .list(let l)? = r["epochs"] else { throw RuntimeError.value("plot: the fit result has no 'epochs' list") }
            let rows = l.items.compactMap { v -> RecordBox? in if case .record(let x) = v { return x }; return nil }
            func f(_ x: RecordBox, _ k: String) -> Double { if case .number(let d)? = x[k] { return d }; return .nan }
            xs = rows.map { f($0, "epoch") }
            loss = rows.map { f($0, "loss") }
            clean = rows.map { f($0, "clean") }
            adv = rows.map { f($0, "adv") }
        }
        guard !xs.isEmpty else { throw RuntimeError.value("plot: the fit result has no steps to plot") }
        var p1 = Panel(title: "Training loss", xlabel: "epoch", ylabel: "loss")
        try p1.add(.line, xs: xs, ys: loss, label: nil, what: "plot")
        var p2 = Panel(title: "Training accuracy", xlabel: "epoch", ylabel: "accuracy (%)")
        if clean.contains(where: { $0.isFinite }) { try p2.add(.line, xs: xs, ys: clean, label: "clean", what: "plot") }
        try p2.add(.line, xs: xs, ys: adv, label: "adversarial", what: "plot")
        // Points without a clean measurement (clean_every) are not data errors: do not count them.
        p2.skipped = 0
        var panels = [p1, p2]
        if let lr = lr, !lr.isEmpty {
            var p3 = Panel(title: "Learning rate", xlabel: "epoch", ylabel: "lr")
            try p3.add(.line, xs: xs, ys: lr, label: nil, what: "plot")
            panels.append(p3)
        }
        return Figure(title: title, panels: panels)
    }

    /// Robust accuracy against eps (in 1/255) for one or more sweep() results.
    static func sweep(_ items: [Value], title: String?) throws -> Figure {
        var p = Panel(title: nil, xlabel: "eps (x/255)", ylabel: "robust accuracy (%)")
        var attack: String?
        for (i, v) in items.enumerated() {
            guard case .record(let r) = v, let eps = column(r, "eps"), let rob = column(r, "robust") else {
                throw RuntimeError.type("plot: element \(i + 1) must be a sweep() result, got \(v.typeName)")
            }
            var label = "series \(i + 1)"
            if case .string(let m)? = r["model"] { label = m }
            if case .string(let a)? = r["attack"] { attack = a }
            var xs = eps.map { $0 * 255 }, ys = rob
            // eps 0 is the clean accuracy (an attack with eps 0 changes nothing): start the curve there.
            if case .number(let c)? = r["clean"], !eps.contains(0), eps.count == rob.count { xs.insert(0, at: 0); ys.insert(c, at: 0) }
            try p.add(.line, xs: xs, ys: ys, label: label, what: "plot")
        }
        return Figure(title: title ?? "Robust accuracy against eps" + (attack.map { " (\($0))" } ?? ""), panels: [p])
    }
}
