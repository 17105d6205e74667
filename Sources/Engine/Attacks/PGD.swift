// Projected gradient descent (Madry et al.), as torchattacks 3.5.1 computes it:
//   x0 = clip_[0,1](x + U(-eps, eps))           (random start; L2: random direction, radius U(0, eps))
//   k times: x <- clip_[0,1](x_clean + clip_[-eps,eps](x + step * sign(grad_x loss) - x_clean))
// Restarts keep the per-example worst case; the result is the final iterate of the chosen restart.
import Foundation
import Tensor

/// PGD-k in pixel space with L-inf or L2 threat model, CE or DLR loss, optional target class.
public final class PGD: Attack {
    public let eps: Float
    public let step: Float
    public let stepCount: Int
    public let restarts: Int
    public let randomStart: Bool
    public let norm: AttackNorm
    public let loss: AttackLossKind
    /// A fixed target class for every image (targeted attack), or nil.
    public let targetClass: Int?
    /// How restarts are scheduled (results are identical either way).
    public var restartMode: RestartMode

    /// - Parameters:
    ///   - eps: radius in pixel units (>= 0).
    ///   - step: step size in pixel units (>= 0).
    ///   - steps: iterations (>= 0).
    ///   - restarts: independent random starts (>= 1); per-example worst case.
    ///   - randomStart: start from a uniform point of the eps-ball (true) or from x.
    ///   - norm: `.linf` or `.l2`.
    ///   - loss: `.ce` or `.dlr`.
    ///   - targetClass: make every image classify as this class (targeted, CE loss).
    ///   - restartMode: batched or sequential restarts.
    public init(eps: Float, step: Float, steps: Int, restarts: Int = 1, randomStart: Bool = true,
                norm: AttackNorm = .linf, loss: AttackLossKind = .ce, targetClass: Int? = nil,
                restartMode: RestartMode = .auto) throws {
        guard eps.isFinite, eps >= 0 else { throw EngineError.invalidArgument("pgd: eps must be a finite number >= 0, got \(eps)") }
        guard step.isFinite, step >= 0 else { throw EngineError.invalidArgument("pgd: step must be a finite number >= 0, got \(step)") }
        guard steps >= 0 else { throw EngineError.invalidArgument("pgd: steps must be >= 0, got \(steps)") }
        guard restarts >= 1 else { throw EngineError.invalidArgument("pgd: restarts must be >= 1, got \(restarts)") }
        try AttackLimits.check("pgd", steps: steps, restarts: restarts)
        if let t = targetClass, t < 0 { throw EngineError.invalidArgument("pgd: target must be a class index >= 0, got \(t)") }
        if targetClass != nil && loss == .dlr {
            throw EngineError.invalidArgument("pgd: a targeted attack uses loss \"ce\", not \"dlr\"")
        }
        self.eps = eps; self.step = step; self.stepCount = steps; self.restarts = restarts
        self.randomStart = randomStart; self.norm = norm; self.loss = loss
        self.targetClass = targetClass; self.restartMode = restartMode
    }

    public var steps: Int? { stepCount }

    public var name: String {
        var s = "PGD"
        if norm == .l2 { s += "-L2" }
        if loss == .dlr { s += "-DLR" }
        s += "-\(stepCount)"
        if restarts > 1 { s += "x\(restarts)" }
        if let t = targetClass { s += "-T\(t)" }
        return s
    }

    public var description: String {
        "pgd(eps: \(fmt(eps, norm: norm)), step: \(fmt(step, norm: norm)), steps: \(stepCount), restarts: \(restarts), random_start: \(randomStart), norm: \"\(norm.rawValue)\", loss: \"\(loss.rawValue)\"\(targetClass.map { ", target: \($0)" } ?? ""))"
    }

    public func with(eps: Float) -> Attack {
        // The step keeps its ratio to eps (eps = 0 gives step 0: the clean images exactly).
        let s = self.eps > 0 ? step * (eps / self.eps) : step
        return (try? PGD(eps: eps, step: s, steps: stepCount, restarts: restarts, randomStart: randomStart,
                         norm: norm, loss: loss, targetClass: targetClass, restartMode: restartMode)) ?? self
    }

    public func with(steps: Int) -> Attack? {
        try? PGD(eps: eps, step: step, steps: steps, restarts: restarts, randomStart: randomStart,
                 norm: norm, loss: loss, targetClass: targetClass, restartMode: restartMode)
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
        // Random starts for every restart, drawn in restart order for the whole batch.
        func start() -> Tensor { randomStart ? AttackOps.randomStart(x, eps: eps, norm: norm, rng: rng, imageRNGs: goal.imageRNGs) : x.copy() }
        if restarts == 1 && !goal.needsOutcome {
            // One restart: the result is the last iterate whether or not it fools the model.
            return AttackResult(adversarial: try iterate(model, clean: x, start: start(), goal: goal), fooled: [])
        }
        var worst = WorstCase(x)
        try restartMode.schedule(restarts: restarts, candidates: Array(0..<n), limit: model.restartBatchLimit,
                                 worst: &worst, startSize: x.count, attack: "pgd", start: start) { idx, starts in
            // k restarts of the examples idx stacked along the batch (no copies for one restart of all).
            let k = starts.count, all = idx.count == n
            let cleanA = all ? x : try AttackOps.rows(x, idx)
            let goalA = all ? goal : try goal.subset(idx)
            let startsA = try starts.map { all ? $0 : try AttackOps.rows($0, idx) }
            return try single(model, clean: k == 1 ? cleanA : try Tensor.concatRows([Tensor](repeating: cleanA, count: k)),
                              start: k == 1 ? startsA[0] : try Tensor.concatRows(startsA),
                              goal: k == 1 ? goalA : try goalA.repeated(k))
        }
        return AttackResult(adversarial: worst.adversarial, fooled: worst.fooled)
    }

    /// The PGD iterations from `start` (updated in place and returned).
    // clean, start: (N, C, H, W)
    func iterate(_ model: Model, clean: Tensor, start: Tensor, goal: AttackGoal) throws -> Tensor {
        for _ in 0..<stepCount {
            let (_, _, g) = try AttackOps.lossAndGradient(model, start, kind: loss, goal: goal)
            AttackOps.ascend(start, clean: clean, grad: g, step: step, eps: eps, norm: norm)
        }
        return start
    }

    /// One restart from `start`: the final iterate, whether it fools the model, and its loss.
    // clean, start: (N, C, H, W)
    func single(_ model: Model, clean: Tensor, start: Tensor, goal: AttackGoal) throws -> (Tensor, [Bool], [Float]) {
        let xadv = try iterate(model, clean: clean, start: start, goal: goal)
        let logits = try AttackOps.logits(model, xadv)
        let values = try Autograd.noGrad { try AttackLoss.compute(logits, kind: loss, goal: goal).values }
        let pred = AttackOps.predictions(logits)
        return (xadv, (0..<pred.count).map { goal.isSuccess($0, prediction: pred[$0]) }, values)
    }
}

/// How an attack prints a pixel-space radius or step. Under L-inf a whole number k >= 1 of 8-bit
/// levels (1 <= k < 255) prints as "k/255" (4/255 reads better than 0.0156863); every other value, and every L2
/// value (an L2 radius is a length, not a count of pixel levels), prints as a plain number.
/// - Parameters:
///   - v: the value in pixel units.
///   - norm: the attack's threat model.
func fmt(_ v: Float, norm: AttackNorm = .linf) -> String {
    if norm == .linf && v > 0 {
        let k = Double(v) * 255
        if abs(k - k.rounded()) < 1e-4 && k.rounded() >= 1 && k.rounded() < 255 { return "\(Int(k.rounded()))/255" }
    }
    return String(format: "%.6g", Double(v))
}

extension Tensor {
    /// Concatenation along the first axis (rows), used to batch restarts.
    // ts: [(N_i, ...)] -> (sum N_i, ...)
    static func concatRows(_ ts: [Tensor]) throws -> Tensor {
        guard let first = ts.first else { throw EngineError.shape("concatRows: no tensors") }
        let tail = Array(first.shape.dropFirst())
        var n = 0
        for t in ts {
            guard Array(t.shape.dropFirst()) == tail else {
                throw EngineError.shape("concatRows: \(t.shape) vs \(first.shape)")
            }
            n += t.shape[0]
        }
        let out = Tensor(zeros: [n] + tail)
        var off = 0
        for t in ts { (out.ptr + off).update(from: t.ptr, count: t.count); off += t.count }
        return out
    }
}
