// Sanity checks that catch broken attacks and gradient masking (docs/reference.md section 2):
//   1. eps = 0 reproduces the clean predictions exactly;
//   2. robust accuracy does not rise when the attack gets twice the steps (same seed);
//      attacks of 20 or more steps compare k/2 with k steps instead (cheaper, same fact);
//   3. input gradients are not zero / NaN / inf for a large share of examples;
//   4. an unbounded attack (L-inf eps = 1, 20 steps of 0.1) drives robust accuracy to about 0%.
// They run once per evaluation on a small sample of clean-correct images (the first batch).

import Tensor

public enum SanityChecks {
    /// Images of the first batch the checks use (at most).
    public nonisolated(unsafe) static var sampleSize = 32
    /// Share of examples with zero or non-finite gradients above which a warning is raised.
    public nonisolated(unsafe) static var gradientShare = 0.2
    /// Robust accuracy (fraction) of the unbounded attack above which a warning is raised.
    public nonisolated(unsafe) static var unboundedLimit = 0.05

    /// Runs the checks for `attack` on the clean-correct images `x` (labels `y`).
    /// Returns the warnings (empty when all pass).
    /// - Parameters:
    ///   - attack: the evaluation attack.
    ///   - model: the model under test.
    ///   - x: clean-correct images (n, C, H, W), n <= sampleSize is enough.
    ///   - labels: their labels.
    ///   - seed: seed of the RNGs used (the same for paired runs).
    public static func run(_ attack: Attack, model: Model, x: Tensor, labels: [Int], seed: UInt64) throws -> [String] {
        let n = x.shape[0]
        guard n > 0 else { return [] }
        var warnings: [String] = []
        let goal = AttackGoal(labels: labels)
        // 1. eps = 0
        // (an attack that moves images at eps 0 fails the output check of `run`: reported here as
        // this check's warning; the evaluation proper then stops with that error)
        var changed = 0
        do {
            changed = try attack.with(eps: 0).run(model, x, goal: goal, rng: RNG(seed: seed)).fooled.filter { $0 }.count
        } catch EngineError.invalidArgument(let m) where m.contains("outside the eps-ball") {
            warnings.append("\(attack.name) with eps = 0 returned images that differ from the clean ones: \(m)")
        }
        if changed > 0 {
            warnings.append("\(attack.name) with eps = 0 changed \(changed) of \(n) correct predictions: clean accuracy is not reproduced (broken attack, or a model that is not deterministic in evaluation mode)")
        }
        // 2. more steps must not raise robust accuracy
        // (k vs 2k steps; for long attacks k/2 vs k, which costs less and tests the same fact)
        if let k = attack.steps, k > 0 {
            let (few, many) = k >= 20 ? (k / 2, k) : (k, 2 * k)
            if let a1 = few == k ? attack : attack.with(steps: few), let a2 = many == k ? attack : attack.with(steps: many) {
                let base = try a1.run(model, x, goal: goal, rng: RNG(seed: seed)).fooled.filter { !$0 }.count
                let longer = try a2.run(model, x, goal: goal, rng: RNG(seed: seed)).fooled.filter { !$0 }.count
                if longer > base {
                    warnings.append("robust accuracy rose from \(base)/\(n) to \(longer)/\(n) when \(attack.name) ran \(many) instead of \(few) steps: the attack is not converging (step size too large?) or gradients are masked")
                }
            }
        }
        // 3. input gradients
        let (_, _, g) = try AttackMode.evaluating(model) {
            try AttackOps.lossAndGradient(model, x, kind: .ce, goal: goal)
        }
        let d = g.count / n
        var zeroCount = 0, badCount = 0
        let gp = g.ptr
        for i in 0..<n {
            var allZero = true, finite = true
            for k in (i * d)..<((i + 1) * d) {
                let v = gp[k]
                if !v.isFinite { finite = false }
                if v != 0 { allZero = false }
            }
            if !finite { badCount += 1 } else if allZero { zeroCount += 1 }
        }
        if Double(badCount) > gradientShare * Double(n) {
            warnings.append("input gradients contain NaN or inf for \(badCount) of \(n) examples: the attack cannot work (numerical overflow in the model?)")
        }
        if Double(zeroCount) > gradientShare * Double(n) {
            warnings.append("input gradients are exactly zero for \(zeroCount) of \(n) examples: gradient masking (saturated softmax, non-differentiable preprocessing, or detached input); robust accuracy is not trustworthy")
        }
        // 4. an unbounded attack must reach about 0%
        let unbounded = try PGD(eps: 1, step: 0.1, steps: 20, randomStart: true)
        let left = try unbounded.run(model, x, goal: goal, rng: RNG(seed: seed)).fooled.filter { !$0 }.count
        if Double(left) > unboundedLimit * Double(n) {
            warnings.append("an unbounded attack (L-inf eps = 1, 20 steps) left \(left) of \(n) examples correctly classified (expected about 0): gradient masking or a broken attack")
        }
        return warnings
    }
}
