// FAB, the fast adaptive boundary attack (Croce & Hein 2020), with the semantics of
// fra31/auto-attack `fab_base.py` / `fab_pt.py`: a minimum-norm attack that linearises the
// decision boundary at the iterate x1, projects both x1 and the clean image x0 onto that
// hyperplane (within [0, 1], `FABProjection`), and steps to a convex combination of the two
// projections, extrapolated by eta:
//   x1 <- clip01((x1 + eta d1)(1 - a) + (x0 + eta d2) a),  a = min(|d1| / (|d1| + |d2|), alpha_max)
// Whenever x1 misclassifies, it is kept if closer than the best so far, and pulled back towards
// x0 by beta. Targeted (FAB-T): the boundary of z_t - z_y for the t = 2nd..(targets+1)-th ranked
// classes, one run each on the examples still robust; untargeted: the closest boundary over all
// classes (one gradient per class). An example counts as broken only when the closest
// misclassifying point found lies within eps. Parameters: 100 iterations, alpha_max 0.1,
// eta 1.05, beta 0.9; restarts after the first start at x0 + (eps / 2) * a random direction.
import Foundation
import Tensor

/// FAB-T / FAB with L-inf or L2 threat model.
public final class FAB: Attack {
    public let eps: Float
    public let iterations: Int
    /// Target classes tried (targeted), or nil for the untargeted attack.
    public let targets: Int?
    public let restarts: Int
    public let norm: AttackNorm
    public let alphaMax: Float = 0.1
    public let eta: Float = 1.05
    public let beta: Float = 0.9

    /// - Parameters:
    ///   - eps: radius in pixel units (>= 0); a point further away does not count.
    ///   - steps: iterations per run (>= 1; AutoAttack: 100).
    ///   - targets: number of ranked target classes (FAB-T, AutoAttack: 9) or nil (untargeted).
    ///   - restarts: runs per target (the first from x, the others from random points).
    ///   - norm: `.linf` or `.l2`.
    public init(eps: Float, steps: Int = 100, targets: Int? = 9, restarts: Int = 1, norm: AttackNorm = .linf) throws {
        guard eps.isFinite, eps >= 0 else { throw EngineError.invalidArgument("fab: eps must be a finite number >= 0, got \(eps)") }
        guard steps >= 1 else { throw EngineError.invalidArgument("fab: steps must be >= 1, got \(steps)") }
        if let t = targets, t < 1 { throw EngineError.invalidArgument("fab: targets must be >= 1, got \(t)") }
        guard restarts >= 1 else { throw EngineError.invalidArgument("fab: restarts must be >= 1, got \(restarts)") }
        self.eps = eps; self.iterations = steps; self.targets = targets; self.restarts = restarts; self.norm = norm
    }

    public var steps: Int? { iterations }

    /// "FAB-T" (targeted) or "FAB" as AutoAttack prints them; non-default settings appended.
    public var name: String {
        var s = targets == nil ? "FAB" : "FAB-T"
        if norm == .l2 { s += "-L2" }
        if iterations != 100 { s += "-\(iterations)" }
        if let t = targets, t != 9 { s += "-\(t)t" }
        if restarts > 1 { s += "x\(restarts)" }
        return s
    }

    public var description: String {
        "fab(eps: \(fmt(eps, norm: norm)), steps: \(iterations), targeted: \(targets != nil)\(targets.map { ", targets: \($0)" } ?? ""), restarts: \(restarts), norm: \"\(norm.rawValue)\")"
    }

    public func with(eps: Float) -> Attack {
        (try? FAB(eps: eps, steps: iterations, targets: targets, restarts: restarts, norm: norm)) ?? self
    }

    public func with(steps: Int) -> Attack? {
        try? FAB(eps: eps, steps: steps, targets: targets, restarts: restarts, norm: norm)
    }

    /// The length of each row of `v` (N, D) in the attack's norm.
    func lengths(_ v: UnsafePointer<Float>, n: Int, d: Int) -> [Float] {
        (0..<n).map { e in
            var s: Float = 0
            for j in (e * d)..<((e + 1) * d) { s = norm == .linf ? max(s, abs(v[j])) : s + v[j] * v[j] }
            return norm == .linf ? s : s.squareRoot()
        }
    }

    public func attack(_ model: Model, _ x: Tensor, goal: AttackGoal, rng: RNG) throws -> AttackResult {
        guard goal.targetLabels == nil, goal.softTargets == nil else {
            throw EngineError.invalidArgument("\(name): FAB chooses its own target classes; give true labels only")
        }
        guard model.classes >= 2 else { throw EngineError.invalidArgument("\(name): needs at least 2 classes") }
        let n = x.shape[0], d = x.count / max(n, 1)
        let cleanLogits = try AttackOps.logits(model, x)
        let cleanPred = AttackOps.predictions(cleanLogits)
        var fooled = (0..<n).map { goal.isSuccess($0, prediction: cleanPred[$0]) }
        let adv = x.copy()
        let ranks: [Int?] = targets.map { t in (2..<(min(t, model.classes - 1) + 2)).map { Optional($0) } } ?? [nil]
        for rank in ranks {
            let ranked = rank.map { APGDTargeted.rankedClass(cleanLogits, rank: $0) }
            for r in 0..<restarts {
                let idx = (0..<n).filter { !fooled[$0] }
                if idx.isEmpty { break }
                let xs = try AttackOps.rows(x, idx)
                let out = try single(model, clean: xs, labels: idx.map { goal.labels[$0] },
                                     targets: ranked.map { t in idx.map { t[$0] } }, randomStart: r > 0, rng: rng)
                // broken: misclassified and within eps (the reference's acc_curr test)
                // The difference is kept alive while its pointer is read: `lengths(try
                // out.sub(xs).ptr, ...)` let the temporary be freed before `lengths` read it,
                // so the distances came from freed memory (what malloc had written there:
                // different results depending on the heap, e.g. in a whole test run).
                let delta = try out.sub(xs)
                let dist = withExtendedLifetime(delta) { lengths(delta.ptr, n: idx.count, d: d) }
                let pred = AttackOps.predictions(try AttackOps.logits(model, out))
                for (k, i) in idx.enumerated() where pred[k] != goal.labels[i] && dist[k] <= eps {
                    fooled[i] = true
                    (adv.ptr + i * d).update(from: out.ptr + k * d, count: d)
                }
            }
        }
        return AttackResult(adversarial: adv, fooled: fooled)
    }

    /// One FAB run (the reference's attack_single_run) on correctly classified images `x`:
    /// the closest misclassifying point found per example, or the clean image.
    // x: (N, C, H, W) -> (N, C, H, W)
    func single(_ model: Model, clean x: Tensor, labels: [Int], targets: [Int]?, randomStart: Bool, rng: RNG) throws -> Tensor {
        let n = x.shape[0], d = x.count / max(n, 1)
        let best = x.copy()
        var bestDist = [Float](repeating: 1e10, count: n)
        var x1 = x.copy()
        if randomStart {
            // x0 + (eps / 2) * t / |t|, t ~ U(-1, 1) (L-inf) or N(0, 1) (L2), clipped to [0, 1]
            let p = x1.ptr
            var t = [Float](repeating: 0, count: d)
            for e in 0..<n {
                var s: Float = 0
                for j in 0..<d {
                    t[j] = norm == .linf ? 2 * rng.uniform() - 1 : rng.normal()
                    s = norm == .linf ? max(s, abs(t[j])) : s + t[j] * t[j]
                }
                if norm == .l2 { s = s.squareRoot() }
                for j in 0..<d { p[e * d + j] = min(max(p[e * d + j] + eps * t[j] / s * 0.5, 0), 1) }
            }
        }
        let x0 = x.ptr
        for _ in 0..<iterations {
            try Interrupt.check()
            let (df, dg) = try boundary(model, x1, labels: labels, targets: targets)
            let next = Tensor(zeros: x.shape)
            let xp = x1.ptr, np = next.ptr
            // Each image's two projections are independent of the others' (and write only its
            // own row), so the images are split over threads: the same values with any count.
            withExtendedLifetime((x1, dg)) {
                Parallel.forEach(n, minChunk: 1) { images in
                    for e in images { step(e, xp, x0, dg.ptr + e * d, df[e], np, d) }
                }
            }
            x1 = next
            let pred = AttackOps.predictions(try AttackOps.logits(model, x1))
            for e in 0..<n where pred[e] != labels[e] {
                var t: Float = 0
                for j in (e * d)..<((e + 1) * d) {
                    let v = np[j] - x0[j]
                    t = norm == .linf ? max(t, abs(v)) : t + v * v
                }
                if norm == .l2 { t = t.squareRoot() }
                if t < bestDist[e] {
                    (best.ptr + e * d).update(from: np + e * d, count: d)
                    bestDist[e] = t
                }
                for j in (e * d)..<((e + 1) * d) { np[j] = x0[j] + (np[j] - x0[j]) * beta }
            }
        }
        return best
    }

    /// One image's FAB step from the iterate `xp` and the clean `x0` (rows e, D values) towards
    /// the linearised boundary w . x = w . x_e - f: both projections, the mix alpha, clipped
    /// to [0, 1], written to row e of `np`.
    private func step(_ e: Int, _ xp: UnsafePointer<Float>, _ x0: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                      _ f: Float, _ np: UnsafeMutablePointer<Float>, _ d: Int) {
        var b = -f
        for j in 0..<d { b += w[j] * xp[e * d + j] }
        let d1 = norm == .linf ? FABProjection.linf(xp + e * d, w, b, d) : FABProjection.l2(xp + e * d, w, b, d)
        let d2 = norm == .linf ? FABProjection.linf(x0 + e * d, w, b, d) : FABProjection.l2(x0 + e * d, w, b, d)
        let a1 = max(lengths(d1, n: 1, d: d)[0], 1e-8), a2 = max(lengths(d2, n: 1, d: d)[0], 1e-8)
        let alpha = min(max(a1 / (a1 + a2), 0), alphaMax)
        for j in 0..<d {
            let v = (xp[e * d + j] + eta * d1[j]) * (1 - alpha) + (x0[e * d + j] + d2[j] * eta) * alpha
            np[e * d + j] = min(max(v, 0), 1)
        }
    }

    /// The linearised boundary at `x`: per example the logit difference f and its input
    /// gradient g, for the closest class boundary (untargeted: the class minimising
    /// |f_k| / |g_k|_dual over k != y) or the target's (targeted: f = z_t - z_y).
    // x: (N, C, H, W) -> f: N, g: (N, D)
    func boundary(_ model: Model, _ x: Tensor, labels: [Int], targets: [Int]?) throws -> ([Float], Tensor) {
        let n = x.shape[0], d = x.count / max(n, 1)
        if let t = targets {
            let (logits, g) = try logitGradient(model, x) { i, k in k == t[i] ? 1 : (k == labels[i] ? -1 : 0) }
            let kk = logits.shape[1]
            return ((0..<n).map { logits.ptr[$0 * kk + t[$0]] - logits.ptr[$0 * kk + labels[$0]] }, g)
        }
        // untargeted: one gradient per class
        var grads: [Tensor] = []
        var logits = Tensor(zeros: [n, model.classes])
        for c in 0..<model.classes {
            let (l, g) = try logitGradient(model, x) { _, k in k == c ? 1 : 0 }
            logits = l
            grads.append(g)
        }
        let kk = model.classes
        var f = [Float](repeating: 0, count: n)
        let out = Tensor(zeros: [n, d])
        for e in 0..<n {
            let y = labels[e]
            var bestK = -1, bestDist = Float.infinity
            for c in 0..<kk where c != y {
                let fc = logits.ptr[e * kk + c] - logits.ptr[e * kk + y]
                var s: Float = 0
                for j in 0..<d {
                    let g = grads[c].ptr[e * d + j] - grads[y].ptr[e * d + j]
                    s = norm == .linf ? s + abs(g) : s + g * g
                }
                let dist = abs(fc) / (1e-12 + (norm == .linf ? s : s.squareRoot()))
                if dist < bestDist { bestDist = dist; bestK = c }
            }
            f[e] = logits.ptr[e * kk + bestK] - logits.ptr[e * kk + y]
            for j in 0..<d { out.ptr[e * d + j] = grads[bestK].ptr[e * d + j] - grads[y].ptr[e * d + j] }
        }
        return (f, out)
    }

    /// Logits and the input gradient of sum_i sum_k weight(i, k) z_ik.
    // x: (N, C, H, W) -> (N, K), (N, D)
    func logitGradient(_ model: Model, _ x: Tensor, weight: (Int, Int) -> Float) throws -> (Tensor, Tensor) {
        let leaf = x.copy()
        leaf.requiresGrad = true
        let logits = try model.forward(leaf)
        let n = x.shape[0], k = logits.shape[1]
        let mask = Tensor(zeros: [n, k])
        for i in 0..<n { for c in 0..<k { mask.ptr[i * k + c] = weight(i, c) } }
        let total = try logits.mul(mask).sum()
        if total.requiresGrad { try total.backward() }
        let g = leaf.grad ?? Tensor(zeros: x.shape)
        return (logits.detached(), try g.reshape([n, x.count / max(n, 1)]))
    }
}
