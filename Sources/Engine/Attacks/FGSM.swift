// Fast gradient sign method (Goodfellow et al.), as torchattacks 3.5.1:
//   x_adv = clip_[0,1](x + eps * sign(grad_x loss))
import Foundation
import Tensor

/// One signed-gradient step of size eps (L-inf), CE loss, optional target class.
public final class FGSM: Attack {
    public let eps: Float
    /// A fixed target class for every image (targeted: steps down the CE to the target), or nil.
    public let targetClass: Int?

    /// - Parameters:
    ///   - eps: step and radius in pixel units (>= 0).
    ///   - targetClass: optional target class of a targeted attack.
    public init(eps: Float, targetClass: Int? = nil) throws {
        guard eps.isFinite, eps >= 0 else { throw EngineError.invalidArgument("fgsm: eps must be a finite number >= 0, got \(eps)") }
        if let t = targetClass, t < 0 { throw EngineError.invalidArgument("fgsm: target must be a class index >= 0, got \(t)") }
        self.eps = eps
        self.targetClass = targetClass
    }

    public var name: String { targetClass.map { "FGSM-T\($0)" } ?? "FGSM" }
    public var steps: Int? { nil }
    public var description: String { "fgsm(eps: \(fmt(eps))\(targetClass.map { ", target: \($0)" } ?? ""))" }
    public func with(eps: Float) -> Attack { (try? FGSM(eps: eps, targetClass: targetClass)) ?? self }
    public func with(steps: Int) -> Attack? { nil }

    public func attack(_ model: Model, _ x: Tensor, goal: AttackGoal, rng: RNG) throws -> AttackResult {
        var goal = goal
        if let t = targetClass {
            guard t < model.classes else {
                throw EngineError.invalidArgument("\(name): target class \(t) is outside 0..<\(model.classes)")
            }
            if goal.targetLabels == nil { goal.targetLabels = [Int](repeating: t, count: goal.count) }
        }
        let (_, _, g) = try AttackOps.lossAndGradient(model, x, kind: .ce, goal: goal)
        let adv = x.copy()
        let a = adv.ptr, gp = g.ptr
        for k in 0..<adv.count {
            let s: Float = gp[k] > 0 ? 1 : (gp[k] < 0 ? -1 : 0)
            a[k] = min(max(a[k] + eps * s, 0), 1)
        }
        if !goal.needsOutcome { return AttackResult(adversarial: adv, fooled: []) }
        let pred = AttackOps.predictions(try AttackOps.logits(model, adv))
        return AttackResult(adversarial: adv, fooled: (0..<pred.count).map { goal.isSuccess($0, prediction: pred[$0]) })
    }
}
