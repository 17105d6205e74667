// A composite attack whose members run one after another, each only on the examples every
// earlier member failed to break (AutoAttack, WorstOf). Besides running the whole sequence on
// one batch (`attack`), such an attack exposes its members one at a time, so that `evaluate`
// can run it in the pooled order of the reference AutoAttack (docs/attacks.md, "Pooled order"):
// member k runs on every still-robust image of the whole evaluation, in full batches.
import Foundation
import Tensor

/// What one member of a `StagedAttack` did to a batch of still-robust examples.
public struct StageResult {
    /// The member's images (checked against its eps-ball and [0, 1]).
    public var adversarial: Tensor
    /// Per example: broken by this member.
    public var fooled: [Bool]
    /// Per example: the name an image broken here is reported under ("" where not broken).
    public var brokenBy: [String]
}

/// An ensemble that runs its members in sequence on the examples still robust.
public protocol StagedAttack: Attack {
    /// Number of members.
    var stageCount: Int { get }
    /// The member's name in progress lines and per-example outcomes (e.g. "apgd-t").
    func stageName(_ k: Int) -> String
    /// False when no member needs to run at all (AutoAttack at eps 0: the ball holds only x).
    var runsStages: Bool { get }
    /// Runs member `k` on `x`, all of which earlier members failed to break. The model is in
    /// evaluation mode; the member's output is checked against its ball.
    func runStage(_ k: Int, _ model: Model, _ x: Tensor, goal: AttackGoal, rng: RNG) throws -> StageResult
    /// Accounts member `k`'s work on one batch (AutoAttack's per-member statistics).
    func recordStage(_ k: Int, attacked: Int, broken: Int, seconds: Double)
}

extension StagedAttack {
    public var runsStages: Bool { true }
    public func recordStage(_ k: Int, attacked: Int, broken: Int, seconds: Double) {}

    /// The members in order on one batch: each on the examples not yet broken; the first
    /// success per example is kept (its image and the member's name).
    /// - Parameters:
    ///   - fooled: examples already broken before the first member (AutoAttack: misclassified
    ///     clean images), or nil for none.
    ///   - keepLastImage: an example no member breaks keeps the last member's image (WorstOf,
    ///     whose images adversarial training uses) instead of the clean one (AutoAttack).
    ///   - note: called after each member with (member, broken, attacked, robust left, seconds).
    func runStages(_ model: Model, _ x: Tensor, goal: AttackGoal, rng: RNG, fooled initial: [Bool]? = nil,
                   keepLastImage: Bool = false,
                   note: ((_ k: Int, _ broken: Int, _ attacked: Int, _ left: Int, _ seconds: Double) -> Void)? = nil) throws
        -> (adversarial: Tensor, fooled: [Bool], brokenBy: [String]) {
        let n = x.shape[0]
        let adv = x.copy()
        var fooled = initial ?? [Bool](repeating: false, count: n)
        var by = [String](repeating: "", count: n)
        var goal = goal
        goal.needsOutcome = true  // each member runs only where the earlier ones failed
        for k in 0..<stageCount {
            let active = (0..<n).filter { !fooled[$0] }
            if active.isEmpty { break }
            let start = Date()
            let all = active.count == n
            let xa = all ? x : try AttackOps.rows(x, active)
            let r = try runStage(k, model, xa, goal: all ? goal : try goal.subset(active), rng: rng)
            let hit = (0..<active.count).filter { r.fooled[$0] }
            for j in hit { fooled[active[j]] = true; by[active[j]] = r.brokenBy[j] }
            if keepLastImage {
                AttackOps.scatterRows(adv, active, from: r.adversarial)
            } else {
                AttackOps.scatterRows(adv, hit.map { active[$0] }, from: try AttackOps.rows(r.adversarial, hit))
            }
            let secs = Date().timeIntervalSince(start)
            recordStage(k, attacked: active.count, broken: hit.count, seconds: secs)
            note?(k, hit.count, active.count, n - fooled.filter { $0 }.count, secs)
        }
        return (adv, fooled, by)
    }
}
