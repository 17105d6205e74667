// AutoAttack (Croce & Hein 2020) composed as fra31/auto-attack `autoattack.py` runs it
// (docs/reference.md section 7):
//   standard: apgd-ce (100 iterations, 1 restart), apgd-t (9 targets), fab-t (9 targets),
//             square (5000 queries, p_init 0.8);
//   plus:     apgd-ce and apgd-dlr with 5 restarts, fab (untargeted, 5 restarts), square,
//             apgd-t, fab-t;
//   rand:     apgd-ce and apgd-dlr with expectation over 20 gradient samples (randomised models).
// Each member runs only on the examples every earlier member failed to break; an example is
// robust only if all fail (the per-example worst case). Every member's output is checked
// against the eps-ball. After each member a progress line (the reference's "robust accuracy
// after APGD-CE: ...") goes through the shared progress display (`Progress.noteActive`), and per-member counts and times accumulate
// in `stats` (read by `benchmark`).
import Foundation
import Tensor

/// The AutoAttack ensemble.
public final class AutoAttack: Attack {
    /// Which members and settings (the reference's `version`).
    public enum Version: String, CaseIterable { case standard, plus, rand }

    /// Accumulated outcome of one member over every batch since the last `resetStats`.
    public struct MemberStats {
        /// The reference's name ("apgd-ce", "apgd-t", "fab-t", "square", ...).
        public var name: String
        /// Examples the member was run on, and how many of them it broke.
        public var attacked = 0, broken = 0
        /// Wall-clock seconds spent in the member.
        public var seconds = 0.0
    }

    public let eps: Float
    public let norm: AttackNorm
    public let version: Version
    /// The members in order, with the reference's names.
    public let members: [(name: String, attack: Attack)]
    /// Print a line per member and batch through the shared progress display (`Progress.noteActive`).
    public var verbose: Bool
    /// Per-member statistics (same order as `members`).
    public private(set) var stats: [MemberStats]
    /// Examples given to the ensemble (clean-correct or not) since the last reset.
    public private(set) var examples = 0

    /// - Parameters:
    ///   - eps: radius in pixel units (>= 0).
    ///   - norm: `.linf` or `.l2`.
    ///   - version: `.standard`, `.plus` or `.rand`.
    ///   - verbose: progress lines per member.
    public init(eps: Float, norm: AttackNorm = .linf, version: Version = .standard, verbose: Bool = true) throws {
        guard eps.isFinite, eps >= 0 else { throw EngineError.invalidArgument("autoattack: eps must be a finite number >= 0, got \(eps)") }
        self.eps = eps; self.norm = norm; self.version = version; self.verbose = verbose
        switch version {
        case .standard:
            members = [("apgd-ce", try APGD(eps: eps, steps: 100, restarts: 1, loss: .ce, norm: norm, restartMode: .sequential)),
                       ("apgd-t", try APGDTargeted(eps: eps, steps: 100, targets: 9, norm: norm)),
                       ("fab-t", try FAB(eps: eps, steps: 100, targets: 9, restarts: 1, norm: norm)),
                       ("square", try Square(eps: eps, queries: 5000, pInit: 0.8, norm: norm))]
        case .plus:
            members = [("apgd-ce", try APGD(eps: eps, steps: 100, restarts: 5, loss: .ce, norm: norm, restartMode: .sequential)),
                       ("apgd-dlr", try APGD(eps: eps, steps: 100, restarts: 5, loss: .dlr, norm: norm, restartMode: .sequential)),
                       ("fab", try FAB(eps: eps, steps: 100, targets: nil, restarts: 5, norm: norm)),
                       ("square", try Square(eps: eps, queries: 5000, pInit: 0.8, norm: norm)),
                       ("apgd-t", try APGDTargeted(eps: eps, steps: 100, targets: 9, norm: norm)),
                       ("fab-t", try FAB(eps: eps, steps: 100, targets: 9, restarts: 1, norm: norm))]
        case .rand:
            let ce = try APGD(eps: eps, steps: 100, restarts: 1, loss: .ce, norm: norm, restartMode: .sequential)
            let dlr = try APGD(eps: eps, steps: 100, restarts: 1, loss: .dlr, norm: norm, restartMode: .sequential)
            ce.eot = 20; dlr.eot = 20
            members = [("apgd-ce", ce), ("apgd-dlr", dlr)]
        }
        stats = members.map { MemberStats(name: $0.name) }
    }

    /// "AutoAttack" (standard), "AutoAttack-plus", "AutoAttack-rand"; "-L2" for the L2 threat.
    public var name: String {
        var s = "AutoAttack"
        if version != .standard { s += "-\(version.rawValue)" }
        if norm == .l2 { s += "-L2" }
        return s
    }

    /// Iterative, but the sanity check that doubles the steps is skipped (nil): the members are
    /// parameter-free and a second full run would double an evaluation's cost.
    public var steps: Int? { nil }

    public var description: String {
        "autoattack(eps: \(fmt(eps, norm: norm)), norm: \"\(norm.rawValue)\", version: \"\(version.rawValue)\")"
    }

    public func with(eps: Float) -> Attack {
        (try? AutoAttack(eps: eps, norm: norm, version: version, verbose: verbose)) ?? self
    }

    public func with(steps: Int) -> Attack? { nil }

    /// Clears the per-member statistics.
    public func resetStats() {
        stats = members.map { MemberStats(name: $0.name) }
        examples = 0
    }

    public func attack(_ model: Model, _ x: Tensor, goal: AttackGoal, rng: RNG) throws -> AttackResult {
        guard goal.targetLabels == nil, goal.softTargets == nil else {
            throw EngineError.invalidArgument("\(name): AutoAttack is untargeted; give true labels only")
        }
        let n = x.shape[0]
        let cleanPred = AttackOps.predictions(try AttackOps.logits(model, x))
        let fooled = (0..<n).map { goal.isSuccess($0, prediction: cleanPred[$0]) }
        examples += n
        // eps 0: the ball holds only x (members would spend their whole budget finding nothing)
        if !runsStages { return AttackResult(adversarial: x.copy(), fooled: fooled) }
        let r = try runStages(model, x, goal: goal, rng: rng, fooled: fooled) { k, broken, attacked, left, secs in
            guard self.verbose else { return }
            let m = self.members[k].name
            Progress.noteActive("\(self.name) \(m): \(broken) of \(attacked) successfully perturbed; robust \(left)/\(n) of this batch after \(m.uppercased()) (\(String(format: "%.1f", secs)) s)")
        }
        var out = AttackResult(adversarial: r.adversarial, fooled: r.fooled)
        out.brokenBy = r.brokenBy
        return out
    }
}

extension AutoAttack: StagedAttack {
    public var stageCount: Int { members.count }
    public func stageName(_ k: Int) -> String { members[k].name }
    public var runsStages: Bool { eps > 0 }

    /// Member `k` on `x`; as the reference, success is decided by the model's prediction on
    /// the returned image.
    public func runStage(_ k: Int, _ model: Model, _ x: Tensor, goal: AttackGoal, rng: RNG) throws -> StageResult {
        let member = members[k]
        var g = goal
        g.needsOutcome = true
        let r = try member.attack.attack(model, x, goal: g, rng: rng)
        try AttackOps.checkOutput(r.adversarial, clean: x, eps: eps, norm: norm, attack: "\(name) (\(member.name))")
        let pred = AttackOps.predictions(try AttackOps.logits(model, r.adversarial))
        let fooled = (0..<x.shape[0]).map { goal.isSuccess($0, prediction: pred[$0]) }
        return StageResult(adversarial: r.adversarial, fooled: fooled, brokenBy: fooled.map { $0 ? member.name : "" })
    }

    public func recordStage(_ k: Int, attacked: Int, broken: Int, seconds: Double) {
        stats[k].attacked += attacked
        stats[k].broken += broken
        stats[k].seconds += seconds
    }
}
