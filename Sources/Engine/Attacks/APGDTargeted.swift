// AutoAttack's APGD-T (Croce & Hein 2020, fra31/auto-attack `APGDAttack_targeted`): APGD on the
// targeted DLR loss -(z_y - z_t) / (z_(1) - (z_(3) + z_(4)) / 2 + 1e-12), run once per target
// class t = the 2nd, 3rd, ..., (targets+1)-th highest-scoring class of the clean image, each run
// only on the examples still robust. Success is untargeted (any misclassification), as in the
// reference. The iteration itself is `APGD.single` (docs/attacks.md, "APGD details").
import Foundation
import Tensor

/// APGD-T: targeted-DLR APGD over the highest-ranked other classes, L-inf or L2.
public final class APGDTargeted: Attack {
    public let eps: Float
    public let iterations: Int
    /// Target classes tried per example (AutoAttack standard: 9).
    public let targets: Int
    /// Restarts per target class (AutoAttack: 1).
    public let restarts: Int
    public let norm: AttackNorm
    public let rho: Float
    /// Tests only: the start point of the run against target rank `rank` for the examples
    /// `idx` (images `xs`) instead of a random one (reference fixtures patch torch.rand alike).
    var startHook: ((_ rank: Int, _ idx: [Int], _ xs: Tensor) -> Tensor)? = nil

    /// - Parameters:
    ///   - eps: radius in pixel units (>= 0).
    ///   - steps: iterations per run (>= 1; AutoAttack: 100).
    ///   - targets: how many of the highest-ranked other classes to target (>= 1; AutoAttack: 9).
    ///   - restarts: runs per target class, each from a new random start (>= 1).
    ///   - norm: `.linf` or `.l2`.
    ///   - rho: APGD's oscillation threshold (0.75).
    public init(eps: Float, steps: Int = 100, targets: Int = 9, restarts: Int = 1, norm: AttackNorm = .linf,
                rho: Float = 0.75) throws {
        guard eps.isFinite, eps >= 0 else { throw EngineError.invalidArgument("apgd_t: eps must be a finite number >= 0, got \(eps)") }
        guard steps >= 1 else { throw EngineError.invalidArgument("apgd_t: steps must be >= 1, got \(steps)") }
        guard targets >= 1 else { throw EngineError.invalidArgument("apgd_t: targets must be >= 1, got \(targets)") }
        guard restarts >= 1 else { throw EngineError.invalidArgument("apgd_t: restarts must be >= 1, got \(restarts)") }
        guard rho > 0, rho <= 1 else { throw EngineError.invalidArgument("apgd_t: rho must be in (0, 1], got \(rho)") }
        self.eps = eps; self.iterations = steps; self.targets = targets; self.restarts = restarts
        self.norm = norm; self.rho = rho
    }

    public var steps: Int? { iterations }

    /// "APGD-T" as AutoAttack prints it; non-default settings are appended.
    public var name: String {
        var s = "APGD-T"
        if norm == .l2 { s += "-L2" }
        if iterations != 100 { s += "-\(iterations)" }
        if targets != 9 { s += "-\(targets)t" }
        if restarts > 1 { s += "x\(restarts)" }
        return s
    }

    public var description: String {
        "apgd_t(eps: \(fmt(eps, norm: norm)), steps: \(iterations), targets: \(targets), restarts: \(restarts), norm: \"\(norm.rawValue)\")"
    }

    public func with(eps: Float) -> Attack {
        (try? APGDTargeted(eps: eps, steps: iterations, targets: targets, restarts: restarts, norm: norm, rho: rho)) ?? self
    }

    public func with(steps: Int) -> Attack? {
        try? APGDTargeted(eps: eps, steps: steps, targets: targets, restarts: restarts, norm: norm, rho: rho)
    }

    /// The target class of rank `rank` (2 = the second highest logit) of each row.
    // logits: (N, K) -> N
    static func rankedClass(_ logits: Tensor, rank: Int) -> [Int] {
        let n = logits.shape[0], k = logits.shape[1], p = logits.ptr
        return (0..<n).map { i in
            // a stable descending order: ties keep the lower class first
            let order = (0..<k).sorted { a, b in p[i * k + a] > p[i * k + b] || (p[i * k + a] == p[i * k + b] && a < b) }
            return order[rank - 1]
        }
    }

    public func attack(_ model: Model, _ x: Tensor, goal: AttackGoal, rng: RNG) throws -> AttackResult {
        guard goal.targetLabels == nil, goal.softTargets == nil else {
            throw EngineError.invalidArgument("\(name): APGD-T chooses its own target classes; give true labels only")
        }
        guard model.classes >= 4 else {
            throw EngineError.invalidArgument("\(name): the targeted DLR loss needs at least 4 classes, model \(model.name) has \(model.classes)")
        }
        let n = x.shape[0]
        let cleanLogits = try AttackOps.logits(model, x)
        let cleanPred = AttackOps.predictions(cleanLogits)
        var fooled = (0..<n).map { goal.isSuccess($0, prediction: cleanPred[$0]) }
        let adv = x.copy()
        let inner = try APGD(eps: eps, steps: iterations, restarts: 1, loss: .dlr, norm: norm, rho: rho)
        let usable = min(targets, model.classes - 1)
        for rank in 2..<(usable + 2) {
            let ranked = APGDTargeted.rankedClass(cleanLogits, rank: rank)
            for _ in 0..<restarts {
                let idx = (0..<n).filter { !fooled[$0] }
                if idx.isEmpty { break }
                let xs = try AttackOps.rows(x, idx)
                var sub = try goal.subset(idx)
                sub.lossTargets = idx.map { ranked[$0] }
                let start = startHook?(rank, idx, xs) ?? inner.randomStart(xs, rng: rng)
                let out = try inner.single(model, clean: xs, start: start, goal: sub)
                let won = (0..<idx.count).filter { out.fooled[$0] }
                AttackOps.scatterRows(adv, won.map { idx[$0] }, from: try AttackOps.rows(out.result, won))
                for k in won { fooled[idx[k]] = true }
            }
        }
        return AttackResult(adversarial: adv, fooled: fooled)
    }
}
