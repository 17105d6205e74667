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
        let r = try runStages(model, x, goal: goal, rng: rng, keepLastImage: true)
        var out = AttackResult(adversarial: r.adversarial, fooled: r.fooled)
        out.brokenBy = r.brokenBy
        return out
    }
}

extension WorstOf: StagedAttack {
    public var stageCount: Int { attacks.count }
    public func stageName(_ k: Int) -> String { attacks[k].name }

    /// Attack `k` on `x`, its output checked against its own ball; a nested ensemble reports
    /// the member that broke each image.
    public func runStage(_ k: Int, _ model: Model, _ x: Tensor, goal: AttackGoal, rng: RNG) throws -> StageResult {
        let a = attacks[k]
        var g = goal
        g.needsOutcome = true
        let r = try a.attack(model, x, goal: g, rng: rng)
        try AttackOps.checkOutput(r.adversarial, clean: x, eps: a.eps, norm: a.norm, attack: a.name)
        return StageResult(adversarial: r.adversarial, fooled: r.fooled,
                           brokenBy: (0..<r.fooled.count).map { r.fooled[$0] ? (r.brokenBy?[$0] ?? a.name) : "" })
    }
}
