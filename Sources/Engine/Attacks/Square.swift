// The Square attack (Andriushchenko et al. 2020), a score-based random search that uses no
// gradients, with the semantics of fra31/auto-attack `square.py` (margin loss, untargeted):
//   L-inf: start at x + eps * (a random sign per image, channel and column: vertical stripes);
//          each query changes one square window of side s (the same window and per-channel
//          signs for the whole batch in an iteration) to x +- eps and keeps the change per
//          image when the margin z_y - max_{j != y} z_j fell or the image is misclassified.
//   L2:    start from a grid of s x s "eta" blocks (h / 5 wide, signs per image and channel)
//          scaled to norm eps; each query moves the mass of a random window and a second one
//          into a new eta-shaped block, keeping the image at norm eps (before the [0, 1] clip).
// The window side follows p_init's schedule (halved at queries 10, 50, 200, 500, 1000, 2000,
// 4000, 6000, 8000; AutoAttack uses the unrescaled schedule for 5000 queries). Only images not
// yet misclassified are queried; everything is drawn from the one `rng` (deterministic).
import Foundation
import Tensor

/// Square attack, L-inf or L2.
public final class Square: Attack {
    public let eps: Float
    public let queries: Int
    public let pInit: Float
    public let restarts: Int
    public let norm: AttackNorm
    /// Rescale the p schedule to `queries` (square.py's resc_schedule; AutoAttack: false).
    public let rescaleSchedule: Bool

    /// - Parameters:
    ///   - eps: radius in pixel units (>= 0).
    ///   - queries: iterations (model queries per image, >= 1; AutoAttack: 5000).
    ///   - pInit: initial fraction of pixels changed per query (0, 1] (AutoAttack: 0.8).
    ///   - restarts: runs on the images still robust (>= 1).
    ///   - norm: `.linf` or `.l2`.
    ///   - rescaleSchedule: stretch the p schedule (tuned for 10,000 queries) to `queries`.
    public init(eps: Float, queries: Int = 5000, pInit: Float = 0.8, restarts: Int = 1, norm: AttackNorm = .linf,
                rescaleSchedule: Bool = false) throws {
        guard eps.isFinite, eps >= 0 else { throw EngineError.invalidArgument("square: eps must be a finite number >= 0, got \(eps)") }
        guard queries >= 1 else { throw EngineError.invalidArgument("square: queries must be >= 1, got \(queries)") }
        guard pInit > 0, pInit <= 1 else { throw EngineError.invalidArgument("square: p_init must be in (0, 1], got \(pInit)") }
        guard restarts >= 1 else { throw EngineError.invalidArgument("square: restarts must be >= 1, got \(restarts)") }
        self.eps = eps; self.queries = queries; self.pInit = pInit; self.restarts = restarts; self.norm = norm
        self.rescaleSchedule = rescaleSchedule
    }

    /// Queries count as steps for the sanity checks (more queries never raise robust accuracy).
    public var steps: Int? { queries }

    /// "Square" as AutoAttack and torchattacks print it; non-default settings appended.
    public var name: String {
        var s = "Square"
        if norm == .l2 { s += "-L2" }
        if queries != 5000 { s += "-\(queries)" }
        if restarts > 1 { s += "x\(restarts)" }
        return s
    }

    public var description: String {
        "square(eps: \(fmt(eps, norm: norm)), queries: \(queries), p_init: \(String(format: "%g", Double(pInit))), restarts: \(restarts), norm: \"\(norm.rawValue)\")"
    }

    public func with(eps: Float) -> Attack {
        (try? Square(eps: eps, queries: queries, pInit: pInit, restarts: restarts, norm: norm, rescaleSchedule: rescaleSchedule)) ?? self
    }

    public func with(steps: Int) -> Attack? {
        try? Square(eps: eps, queries: steps, pInit: pInit, restarts: restarts, norm: norm, rescaleSchedule: rescaleSchedule)
    }

    /// The fraction of pixels changed at query `it` (square.py's p_selection).
    public func p(at iteration: Int) -> Float {
        let it = rescaleSchedule ? Int(Double(iteration) / Double(queries) * 10000) : iteration
        let bounds = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000]
        var p = pInit
        for b in bounds where it > b { p /= 2 }
        return p
    }

    public func attack(_ model: Model, _ x: Tensor, goal: AttackGoal, rng: RNG) throws -> AttackResult {
        guard goal.targetLabels == nil, goal.softTargets == nil else {
            throw EngineError.invalidArgument("\(name): only the untargeted attack with true labels is supported")
        }
        let n = x.shape[0], d = x.count / max(n, 1)
        let cleanPred = AttackOps.predictions(try AttackOps.logits(model, x))
        var fooled = (0..<n).map { goal.isSuccess($0, prediction: cleanPred[$0]) }
        let adv = x.copy()
        for _ in 0..<restarts {
            let idx = (0..<n).filter { !fooled[$0] }
            if idx.isEmpty { break }
            let xs = try AttackOps.rows(x, idx)
            let labels = idx.map { goal.labels[$0] }
            let out = norm == .linf ? try runLinf(model, xs, labels, rng: rng) : try runL2(model, xs, labels, rng: rng)
            let pred = AttackOps.predictions(try AttackOps.logits(model, out))
            for (k, i) in idx.enumerated() where pred[k] != labels[k] {
                fooled[i] = true
                (adv.ptr + i * d).update(from: out.ptr + k * d, count: d)
            }
        }
        return AttackResult(adversarial: adv, fooled: fooled)
    }

    /// Margins z_y - max_{j != y} z_j of the rows `idx` of `x` (the loss both norms minimise).
    // x: (N, C, H, W)
    func margins(_ model: Model, _ x: Tensor, _ labels: [Int]) throws -> [Float] {
        let logits = try AttackOps.logits(model, x)
        let k = logits.shape[1], p = logits.ptr
        return (0..<x.shape[0]).map { i in
            var other = -Float.infinity
            for j in 0..<k where j != labels[i] { other = max(other, p[i * k + j]) }
            return p[i * k + labels[i]] - other
        }
    }

    /// A random sign (+1 or -1).
    @inline(__always) func sign(_ rng: RNG) -> Float { rng.uniform() < 0.5 ? -1 : 1 }

    /// A random integer in [0, high) (0 when high <= 0), as square.py's random_int.
    @inline(__always) func randomInt(_ high: Int, _ rng: RNG) -> Int {
        high <= 0 ? 0 : min(Int(rng.uniform() * Float(high)), high - 1)
    }

    /// The search loop shared by both norms: `propose(active, current best)` returns candidate
    /// images for the active rows; a candidate replaces the best when its margin is lower or
    /// negative. Stops when every image is misclassified or after `queries` iterations.
    // x: (N, C, H, W); start: (N, C, H, W)
    func search(_ model: Model, _ x: Tensor, _ labels: [Int], start: Tensor,
                propose: (_ iteration: Int, _ active: [Int], _ best: Tensor) throws -> Tensor) throws -> Tensor {
        let n = x.shape[0], d = x.count / max(n, 1)
        let best = start
        var marginMin = try margins(model, best, labels)
        var lossMin = marginMin
        if marginMin.allSatisfy({ $0 < 0 }) { return best }
        for it in 0..<queries {
            try Interrupt.check()
            let active = (0..<n).filter { marginMin[$0] > 0 }
            if active.isEmpty { break }
            let cand = try propose(it, active, best)
            let m = try margins(model, cand, active.map { labels[$0] })
            for (k, i) in active.enumerated() {
                var improved = m[k] < lossMin[i]
                if improved { lossMin[i] = m[k] }
                improved = improved || m[k] <= 0
                if improved {
                    marginMin[i] = m[k]
                    (best.ptr + i * d).update(from: cand.ptr + k * d, count: d)
                }
            }
        }
        return best
    }

    // MARK: L-inf

    // x: (N, C, H, W) -> (N, C, H, W)
    func runLinf(_ model: Model, _ x: Tensor, _ labels: [Int], rng: RNG) throws -> Tensor {
        let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3], d = c * h * w
        let start = x.copy()
        let sp = start.ptr, xp = x.ptr
        for e in 0..<n {
            for ch in 0..<c {
                for col in 0..<w {
                    let s = sign(rng) * eps
                    for row in 0..<h {
                        let k = e * d + (ch * h + row) * w + col
                        sp[k] = min(max(xp[k] + s, 0), 1)
                    }
                }
            }
        }
        return try search(model, x, labels, start: start) { it, active, best in
            let side = min(max(Int((Double(self.p(at: it)) * Double(d) / Double(c)).squareRoot().rounded()), 1), min(h, w))
            let vh = self.randomInt(h - side, rng), vw = self.randomInt(w - side, rng)
            let signs = (0..<c).map { _ in self.sign(rng) * 2 * self.eps }
            let cand = try AttackOps.rows(best, active)
            let cp = cand.ptr
            for (k, i) in active.enumerated() {
                for ch in 0..<c {
                    for row in vh..<(vh + side) {
                        for col in vw..<(vw + side) {
                            let o = (ch * h + row) * w + col
                            let x0 = xp[i * d + o]
                            let v = min(max(cp[k * d + o] + signs[ch], x0 - self.eps), x0 + self.eps)
                            cp[k * d + o] = min(max(v, 0), 1)
                        }
                    }
                }
            }
            return cand
        }
    }

    // MARK: L2

    /// square.py's eta_rectangles: nested rectangles weighted 1/(k+1)^2, unit L2 norm.
    static func etaRectangles(_ rows: Int, _ cols: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rows * cols)
        guard rows > 0, cols > 0 else { return out }
        let xc = rows / 2 + 1, yc = cols / 2 + 1
        var r0 = xc - 1, c0 = yc - 1
        for k in 0..<max(xc, yc) {
            let v = 1 / Float((k + 1) * (k + 1))
            for r in max(r0, 0)..<min(r0 + 2 * k + 1, rows) {
                for cc in max(c0, 0)..<min(c0 + 2 * k + 1, cols) { out[r * cols + cc] += v }
            }
            r0 -= 1; c0 -= 1
        }
        let norm = out.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return out.map { $0 / norm }
    }

    /// square.py's eta(s): an s x s block, positive rectangles on top, negative below, unit
    /// L2 norm, transposed with probability 1/2 (one draw from `rng`).
    static func eta(_ s: Int, rng: RNG) -> [Float] {
        let top = etaRectangles(s / 2, s), bottom = etaRectangles(s - s / 2, s)
        var out = top + bottom.map { -$0 }
        let norm = out.reduce(0) { $0 + $1 * $1 }.squareRoot()
        out = out.map { $0 / norm }
        if rng.uniform() > 0.5 {
            var t = out
            for r in 0..<s { for c in 0..<s { t[c * s + r] = out[r * s + c] } }
            out = t
        }
        return out
    }

    // x: (N, C, H, W) -> (N, C, H, W)
    func runL2(_ model: Model, _ x: Tensor, _ labels: [Int], rng: RNG) throws -> Tensor {
        let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3], d = c * h * w
        let xp = x.ptr
        // initial grid of eta blocks with a sign per image and channel
        var delta = [Float](repeating: 0, count: n * d)
        let s0 = max(h / 5, 1), sp0 = (h - s0 * 5) / 2
        var vh = sp0
        for _ in 0..<(h / s0) {
            var vw = sp0
            for _ in 0..<(w / s0) {
                let block = Square.eta(s0, rng: rng)
                for e in 0..<n {
                    for ch in 0..<c {
                        let sg = sign(rng)
                        for r in 0..<s0 where vh + r < h {
                            for q in 0..<s0 where vw + q < w {
                                delta[e * d + (ch * h + vh + r) * w + vw + q] += block[r * s0 + q] * sg
                            }
                        }
                    }
                }
                vw += s0
            }
            vh += s0
        }
        let start = x.copy()
        for e in 0..<n { place(start.ptr + e * d, xp + e * d, Array(delta[(e * d)..<((e + 1) * d)])) }
        return try search(model, x, labels, start: start) { it, active, best in
            var side = max(Int((Double(self.p(at: it)) * Double(d) / Double(c)).squareRoot().rounded()), 3)
            if side % 2 == 0 { side += 1 }
            side = min(side, min(h, w))
            let vh = self.randomInt(h - side, rng), vw = self.randomInt(w - side, rng)
            let vh2 = self.randomInt(h - side, rng), vw2 = self.randomInt(w - side, rng)
            let block = Square.eta(side, rng: rng)
            let cand = Tensor(zeros: [active.count, c, h, w])
            func inWin(_ r: Int, _ q: Int, _ a: Int, _ b: Int) -> Bool { r >= a && r < a + side && q >= b && q < b + side }
            for (k, i) in active.enumerated() {
                var dc = (0..<d).map { best.ptr[i * d + $0] - xp[i * d + $0] }
                let imageNorm = dc.reduce(0) { $0 + $1 * $1 }.squareRoot()
                for ch in 0..<c {
                    var win1: Float = 0, union: Float = 0
                    for r in 0..<h {
                        for q in 0..<w {
                            let v = dc[(ch * h + r) * w + q]
                            let a = inWin(r, q, vh, vw), b = inWin(r, q, vh2, vw2)
                            if a { win1 += v * v }
                            if a || b { union += v * v }
                        }
                    }
                    win1 = win1.squareRoot(); union = union.squareRoot()
                    let sg = self.sign(rng)
                    var nd = [Float](repeating: 0, count: side * side)
                    for r in 0..<side {
                        for q in 0..<side {
                            nd[r * side + q] = block[r * side + q] * sg + dc[(ch * h + vh + r) * w + vw + q] / (1e-12 + win1)
                        }
                    }
                    let ndNorm = nd.reduce(0) { $0 + $1 * $1 }.squareRoot()
                    let scale = (max(self.eps * self.eps - imageNorm * imageNorm, 0) / Float(c) + union * union).squareRoot() / (1e-12 + ndNorm)
                    for r in vh2..<(vh2 + side) { for q in vw2..<(vw2 + side) { dc[(ch * h + r) * w + q] = 0 } }
                    for r in 0..<side {
                        for q in 0..<side { dc[(ch * h + vh + r) * w + vw + q] = nd[r * side + q] * scale }
                    }
                }
                self.place(cand.ptr + k * d, xp + i * d, dc)
            }
            return cand
        }
    }

    /// out = clip01(x + eps * delta / ||delta||_2).
    func place(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ delta: [Float]) {
        let norm = delta.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for j in 0..<delta.count { out[j] = min(max(x[j] + delta[j] / (norm + 1e-12) * eps, 0), 1) }
    }
}
