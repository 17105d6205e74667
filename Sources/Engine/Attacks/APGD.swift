// AutoAttack's APGD (Croce & Hein 2020), ported from fra31/auto-attack autopgd_base.py:
// N iterations, initial step 2*eps, momentum 0.75 (none on the first step), checkpoints after
// p_j * N iterations (p0 = 0, p1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06), as
// integer counts 0.22N, then minus 0.03N each time, at least 0.06N). At a checkpoint an
// example's step is halved and its iterate restarts from its best point when (a) its loss rose
// in at most 75% of the steps since the last checkpoint or (b) its step was not halved last
// time and its best loss did not improve. An example is broken once any iterate misclassifies it.
import Foundation
import Tensor

/// APGD-CE / APGD-DLR with L-inf or L2 threat model.
public final class APGD: Attack {
    public let eps: Float
    public let iterations: Int
    public let restarts: Int
    public let loss: AttackLossKind
    public let norm: AttackNorm
    /// Fraction of increasing steps below which the step is halved (AutoAttack's thr_decr).
    public let rho: Float
    /// A fixed target class (targeted APGD-CE), or nil.
    public let targetClass: Int?
    /// How restarts are scheduled (results are identical either way).
    public var restartMode: RestartMode
    /// Gradients averaged per iteration (expectation over transformation, AutoAttack's
    /// eot_iter; 20 in its "rand" version for randomised defences, 1 otherwise).
    public var eot = 1

    /// - Parameters:
    ///   - eps: radius in pixel units (>= 0).
    ///   - steps: iterations N (>= 1).
    ///   - restarts: random restarts, each on the examples still robust (>= 1).
    ///   - loss: `.ce` (APGD-CE) or `.dlr` (APGD-DLR).
    ///   - norm: `.linf` or `.l2`.
    ///   - rho: oscillation threshold (0.75).
    ///   - targetClass: optional target class (CE loss only).
    ///   - restartMode: batched or sequential restarts.
    public init(eps: Float, steps: Int = 100, restarts: Int = 1, loss: AttackLossKind = .ce,
                norm: AttackNorm = .linf, rho: Float = 0.75, targetClass: Int? = nil,
                restartMode: RestartMode = .auto) throws {
        guard eps.isFinite, eps >= 0 else { throw EngineError.invalidArgument("apgd: eps must be a finite number >= 0, got \(eps)") }
        guard steps >= 1 else { throw EngineError.invalidArgument("apgd: steps must be >= 1, got \(steps)") }
        guard restarts >= 1 else { throw EngineError.invalidArgument("apgd: restarts must be >= 1, got \(restarts)") }
        try AttackLimits.check("apgd", steps: steps, restarts: restarts)
        guard rho > 0, rho <= 1 else { throw EngineError.invalidArgument("apgd: rho must be in (0, 1], got \(rho)") }
        if let t = targetClass, t < 0 { throw EngineError.invalidArgument("apgd: target must be a class index >= 0, got \(t)") }
        if targetClass != nil && loss == .dlr {
            throw EngineError.invalidArgument("apgd: a targeted attack uses loss \"ce\", not \"dlr\"")
        }
        self.eps = eps; self.iterations = steps; self.restarts = restarts; self.loss = loss
        self.norm = norm; self.rho = rho; self.targetClass = targetClass; self.restartMode = restartMode
    }

    public var steps: Int? { iterations }

    public var name: String {
        var s = "APGD-\(loss.rawValue.uppercased())"
        if norm == .l2 { s += "-L2" }
        s += "-\(iterations)"
        if restarts > 1 { s += "x\(restarts)" }
        if let t = targetClass { s += "-T\(t)" }
        return s
    }

    public var description: String {
        "apgd(eps: \(fmt(eps, norm: norm)), steps: \(iterations), restarts: \(restarts), loss: \"\(loss.rawValue)\", norm: \"\(norm.rawValue)\"\(targetClass.map { ", target: \($0)" } ?? "")\(eot > 1 ? ", eot: \(eot)" : ""))"
    }

    public func with(eps: Float) -> Attack {
        guard let a = try? APGD(eps: eps, steps: iterations, restarts: restarts, loss: loss, norm: norm, rho: rho,
                                targetClass: targetClass, restartMode: restartMode) else { return self }
        a.eot = eot
        return a
    }

    public func with(steps: Int) -> Attack? {
        let a = try? APGD(eps: eps, steps: steps, restarts: restarts, loss: loss, norm: norm, rho: rho,
                          targetClass: targetClass, restartMode: restartMode)
        a?.eot = eot
        return a
    }

    /// The iterations (0-based, counted from the first step) after which checkpoints fall.
    public static func checkpoints(_ n: Int) -> [Int] {
        var out: [Int] = []
        var k = max(Int(0.22 * Double(n)), 1)
        let kMin = max(Int(0.06 * Double(n)), 1), decr = max(Int(0.03 * Double(n)), 1)
        var counter = 0
        for i in 0..<n {
            counter += 1
            if counter == k { out.append(i); k = max(k - decr, kMin); counter = 0 }
        }
        return out
    }

    public func attack(_ model: Model, _ x: Tensor, goal: AttackGoal, rng: RNG) throws -> AttackResult {
        var goal = goal
        if let t = targetClass {
            guard t < model.classes else {
                throw EngineError.invalidArgument("\(name): target class \(t) is outside 0..<\(model.classes)")
            }
            if goal.targetLabels == nil { goal.targetLabels = [Int](repeating: t, count: goal.count) }
        }
        let n = x.shape[0]
        // As AutoAttack: examples already fooled on clean input are not attacked (returned as x).
        let cleanPred = AttackOps.predictions(try AttackOps.logits(model, x))
        var worst = WorstCase(x)
        var initiallyFooled: [Int] = []
        for i in 0..<n where goal.isSuccess(i, prediction: cleanPred[i]) { initiallyFooled.append(i) }
        worst.fooled = (0..<n).map { goal.isSuccess($0, prediction: cleanPred[$0]) }
        let toAttack = (0..<n).filter { !worst.fooled[$0] }
        // Random starts, drawn per restart for the whole batch (same draws in both modes).
        let starts = { () -> Tensor in self.randomStart(x, rng: rng) }
        try restartMode.schedule(restarts: restarts, candidates: toAttack, limit: model.restartBatchLimit,
                                 worst: &worst, startSize: x.count, attack: "apgd", start: starts) { idx, ss in
            let k = ss.count
            let xs = try AttackOps.rows(x, idx), sub = try goal.subset(idx)
            let startsA = try ss.map { try AttackOps.rows($0, idx) }
            let out = try single(model, clean: k == 1 ? xs : try Tensor.concatRows([Tensor](repeating: xs, count: k)),
                                 start: k == 1 ? startsA[0] : try Tensor.concatRows(startsA),
                                 goal: k == 1 ? sub : try sub.repeated(k))
            return (out.result, out.fooled, out.bestLoss)
        }
        return AttackResult(adversarial: worst.adversarial, fooled: worst.fooled)
    }

    /// AutoAttack's random start: L-inf x + eps * t / max|t| with t ~ U(-1, 1); L2 x + eps * t / ||t||
    /// with t ~ N(0, 1); clipped to [0, 1] afterwards.
    // x: (N, C, H, W)
    func randomStart(_ x: Tensor, rng: RNG) -> Tensor {
        let out = x.copy()
        let n = x.shape[0], d = x.count / max(n, 1)
        let p = out.ptr
        var t = [Float](repeating: 0, count: d)
        for i in 0..<n {
            var s: Float = 0
            switch norm {
            case .linf:
                for k in 0..<d { t[k] = 2 * rng.uniform() - 1; s = max(s, abs(t[k])) }
            case .l2:
                for k in 0..<d { t[k] = rng.normal(); s += t[k] * t[k] }
                s = s.squareRoot()
            }
            for k in 0..<d { p[i * d + k] = min(max(p[i * d + k] + eps * (t[k] / (s + 1e-12)), 0), 1) }
        }
        return out
    }

    /// One APGD run (AutoAttack's attack_single_run) from `start` (clipped to [0, 1]).
    /// Returns per example: the misclassifying iterate when one was found, else the highest-loss
    /// point (`result`); whether it was broken; the best loss; and the highest-loss point.
    // clean, start: (N, C, H, W)
    func single(_ model: Model, clean x: Tensor, start: Tensor, goal: AttackGoal) throws
        -> (result: Tensor, fooled: [Bool], bestLoss: [Float], best: Tensor) {
        let n = x.shape[0], d = x.count / max(n, 1), nIter = iterations
        let xadv0 = start.copy()
        do { let p = xadv0.ptr; for k in 0..<xadv0.count { p[k] = min(max(p[k], 0), 1) } }
        var xadv = xadv0
        let xBest = xadv.copy(), xBestAdv = xadv.copy()
        // The per-step loss history is steps x batch floats: refuse what cannot be allocated.
        try Tensor.checkSize([nIter, n], "apgd: loss history of \(nIter) steps for \(n) images")
        var lossSteps = [[Float]](repeating: [Float](repeating: 0, count: n), count: nIter)

        var (logits, lossIndiv, grad) = try lossAndGradient(model, xadv, goal: goal)
        let gradBest = grad.copy()
        var pred = AttackOps.predictions(logits)
        var acc = (0..<n).map { !goal.isSuccess($0, prediction: pred[$0]) }
        var lossBest = lossIndiv

        var stepSize = [Float](repeating: 2 * eps, count: n)
        var xOld = xadv.copy()
        var k = max(Int(0.22 * Double(nIter)), 1)
        let kMin = max(Int(0.06 * Double(nIter)), 1), sizeDecr = max(Int(0.03 * Double(nIter)), 1)
        var counter3 = 0
        var lossBestLastCheck = lossBest
        var reducedLastCheck = [Bool](repeating: true, count: n)
        for i in 0..<nIter {
            // gradient step with momentum
            let x1 = Tensor(zeros: x.shape)
            let xa = xadv.ptr, xo = xOld.ptr, xc = x.ptr, g = grad.ptr, o = x1.ptr
            let a: Float = i > 0 ? 0.75 : 1.0
            switch norm {
            case .linf:
                for e in 0..<n {
                    let ss = stepSize[e]
                    for j in (e * d)..<((e + 1) * d) {
                        let gj = g[j]
                        let sg: Float = gj > 0 ? 1 : (gj < 0 ? -1 : 0)
                        var v = xa[j] + ss * sg
                        v = min(max(min(max(v, xc[j] - eps), xc[j] + eps), 0), 1)
                        let grad2 = xa[j] - xo[j]
                        var w = xa[j] + (v - xa[j]) * a + grad2 * (1 - a)
                        w = min(max(min(max(w, xc[j] - eps), xc[j] + eps), 0), 1)
                        o[j] = w
                    }
                }
            case .l2:
                var tmp = [Float](repeating: 0, count: d)
                for e in 0..<n {
                    let r = (e * d)..<((e + 1) * d)
                    var gn: Float = 0
                    for j in r { gn += g[j] * g[j] }
                    gn = gn.squareRoot() + 1e-12
                    for (t, j) in r.enumerated() { tmp[t] = xa[j] + stepSize[e] * (g[j] / gn) }
                    projectL2(&tmp, clean: xc + e * d)
                    for (t, j) in r.enumerated() { tmp[t] = xa[j] + (tmp[t] - xa[j]) * a + (xa[j] - xo[j]) * (1 - a) }
                    projectL2(&tmp, clean: xc + e * d)
                    for (t, j) in r.enumerated() { o[j] = tmp[t] }
                }
            }
            xOld = xadv
            xadv = x1

            (logits, lossIndiv, grad) = try lossAndGradient(model, xadv, goal: goal)
            pred = AttackOps.predictions(logits)
            let xp = xadv.ptr, ba = xBestAdv.ptr, bb = xBest.ptr, gb = gradBest.ptr, gp = grad.ptr
            for e in 0..<n {
                if goal.isSuccess(e, prediction: pred[e]) {
                    acc[e] = false
                    (ba + e * d).update(from: xp + e * d, count: d)
                }
            }
            lossSteps[i] = lossIndiv
            for e in 0..<n where lossIndiv[e] > lossBest[e] {
                (bb + e * d).update(from: xp + e * d, count: d)
                (gb + e * d).update(from: gp + e * d, count: d)
                lossBest[e] = lossIndiv[e]
            }
            counter3 += 1
            if counter3 == k {
                for e in 0..<n {
                    var t = 0
                    for c in 0..<k {
                        let cur = i - c, prev = i - c - 1
                        let pv = prev >= 0 ? lossSteps[prev][e] : lossSteps[nIter + prev][e]  // Python index -1
                        if lossSteps[cur][e] > pv { t += 1 }
                    }
                    let oscillation = Float(t) <= Float(k) * rho
                    let noImprovement = !reducedLastCheck[e] && lossBestLastCheck[e] >= lossBest[e]
                    let reduce = oscillation || noImprovement
                    reducedLastCheck[e] = reduce
                    if reduce {
                        stepSize[e] /= 2
                        (xp + e * d).update(from: bb + e * d, count: d)
                        (gp + e * d).update(from: gb + e * d, count: d)
                    }
                }
                lossBestLastCheck = lossBest
                k = max(k - sizeDecr, kMin)
                counter3 = 0
            }
            try Interrupt.check()
        }
        // Result: the misclassifying iterate for broken examples, else the highest-loss point.
        let result = xBest.copy()
        do {
            let r = result.ptr, ba = xBestAdv.ptr
            for e in 0..<n where !acc[e] { (r + e * d).update(from: ba + e * d, count: d) }
        }
        return (result, acc.map { !$0 }, lossBest, xBest)
    }

    /// The loss and input gradient at `x`; with `eot` > 1 the gradient is the mean over `eot`
    /// passes (the logits and losses are the last pass's, as in the reference).
    // x: (N, C, H, W)
    func lossAndGradient(_ model: Model, _ x: Tensor, goal: AttackGoal) throws -> (logits: Tensor, loss: [Float], grad: Tensor) {
        var r = try AttackOps.lossAndGradient(model, x, kind: loss, goal: goal)
        guard eot > 1 else { return r }
        let sum = r.grad.copy()
        for _ in 1..<eot {
            r = try AttackOps.lossAndGradient(model, x, kind: loss, goal: goal)
            let s = sum.ptr, g = r.grad.ptr
            for k in 0..<sum.count { s[k] += g[k] }
        }
        let s = sum.ptr, inv = 1 / Float(eot)
        for k in 0..<sum.count { s[k] *= inv }
        return (r.logits, r.loss, sum)
    }

    /// AutoAttack's L2 projection: x + normalize(v - x) * min(eps, ||v - x||), clipped to [0, 1].
    // v: D (in place), clean: D
    private func projectL2(_ v: inout [Float], clean: UnsafeMutablePointer<Float>) {
        var dn: Float = 0
        for j in 0..<v.count { let t = v[j] - clean[j]; dn += t * t }
        let norm = dn.squareRoot()
        let f = min(eps, norm) / (norm + 1e-12)
        for j in 0..<v.count { v[j] = min(max(clean[j] + (v[j] - clean[j]) * f, 0), 1) }
    }
}
