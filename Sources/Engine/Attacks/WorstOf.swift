// An ensemble in AutoAttack's style: each attack runs only on the examples that all earlier
// attacks failed to fool; an example is robust only if it survives every attack.

import Tensor

/// Runs attacks in order on the still-robust examples and keeps the first success per example.
public final class WorstOf: Attack {
    public let attacks: [Attack]

    /// - Parameter attacks: at least one attack, run in this order.
    public init(_ attacks: [Attack]) throws {
        guard !attacks.isEmpty else { throw EngineError.invalidArgument("worst_of: needs at least one attack") }
        self.attacks = attacks
    }

    public var name: String { "worst_of(\(attacks.map(\.name).joined(separator: ", ")))" }
    public var eps: Float { attacks.map(\.eps).max() ?? 0 }
    public var steps: Int? { attacks.compactMap(\.steps).max() }
    /// L2 when every member is L2, else L-inf (an L2 ball of radius eps lies inside the L-inf
    /// ball of the same radius, so the check with the largest eps never rejects a member's
    /// valid output; each member's output is also checked against its own ball).
    public var norm: AttackNorm { attacks.allSatisfy { $0.norm == .l2 } ? .l2 : .linf }
    public var description: String { "worst_of(\(attacks.map(\.description).joined(separator: ", ")))" }

    public func with(eps: Float) -> Attack {
        (try? WorstOf(attacks.map { $0.with(eps: eps) })) ?? self
    }

    /// Doubles (scales) the iterations of every iterative member.
    public func with(steps: Int) -> Attack? {
        guard let s = self.steps, s > 0 else { return nil }
        return try? WorstOf(attacks.map { a in
            guard let own = a.steps else { return a }
            return a.with(steps: max(1, own * steps / s)) ?? a
        })
    }

    public func attack(_ model: Model, _ x: Tensor, goal: AttackGoal, rng: RNG) throws -> AttackResult {
        let n = x.shape[0]
        let adv = x.copy()
        var fooled = [Bool](repeating: false, count: n)
        var by = [String](repeating: "", count: n)
        // Each attack runs only where the earlier ones failed, so every one must decide success.
        var goal = goal
        goal.needsOutcome = true
        for a in attacks {
            let active = (0..<n).filter { !fooled[$0] }
            if active.isEmpty { break }
            let all = active.count == n
            let xa = all ? x : try AttackOps.rows(x, active)
            let r = try a.attack(model, xa, goal: all ? goal : try goal.subset(active), rng: rng)
            try AttackOps.checkOutput(r.adversarial, clean: xa, eps: a.eps, norm: a.norm, attack: a.name)
            AttackOps.scatterRows(adv, active, from: r.adversarial)
            for (k, i) in active.enumerated() where r.fooled[k] { fooled[i] = true; by[i] = r.brokenBy?[k] ?? a.name }
        }
        var out = AttackResult(adversarial: adv, fooled: fooled)
        out.brokenBy = by
        return out
    }
}
