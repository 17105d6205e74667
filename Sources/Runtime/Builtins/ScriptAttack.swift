// An attack written in the language: `attack(fn, name:, eps:, norm:)` wraps a script function
// `fn(m, x, y) -> x_adv` as an engine `Attack`, so evaluate, sweep, worst_of and fit treat it as
// they treat the builtin attacks: restarts (per-example worst case), the sanity checks, resume,
// progress and table names. Its output is checked against the eps-ball and [0, 1] like every
// attack's (`Attack.run`, `AttackOps.checkOutput`). When `fn` declares parameters named `eps`
// or `steps`, they are passed, so `sweep` (another eps) and the step-doubling sanity check work.
import Engine
import Tensor

/// A script function as an engine attack.
final class ScriptAttack: Attack {
    let fn: Value
    let label: String
    let eps: Float
    let norm: AttackNorm
    let stepCount: Int?
    let restarts: Int
    /// The interpreter that calls `fn` back.
    let ctx: CallContext

    init(fn: Value, name: String, eps: Float, norm: AttackNorm, steps: Int?, restarts: Int, ctx: CallContext) {
        self.fn = fn; self.label = name; self.eps = eps; self.norm = norm
        self.stepCount = steps; self.restarts = restarts; self.ctx = ctx
    }

    var name: String { restarts > 1 ? "\(label)x\(restarts)" : label }
    var steps: Int? { accepts("steps") ? stepCount : nil }
    var description: String {
        "attack(\(functionName), name: \"\(label)\", eps: \(epsText), norm: \"\(norm.rawValue)\"\(stepCount.map { ", steps: \($0)" } ?? "")\(restarts > 1 ? ", restarts: \(restarts)" : ""))"
    }
    private var epsText: String { norm == .linf && eps > 0 && abs(eps * 255 - (eps * 255).rounded()) < 1e-4 ? "\(Int((eps * 255).rounded()))/255" : "\(eps)" }
    private var functionName: String {
        if case .function(let c) = fn { return c.name }
        if case .builtin(let b) = fn { return b.name }
        return fn.typeName
    }

    /// Whether the function declares a parameter `p` (closures only).
    func accepts(_ p: String) -> Bool {
        if case .function(let c) = fn { return c.decl.params.contains { $0.name == p } }
        return false
    }

    func with(eps: Float) -> Attack {
        ScriptAttack(fn: fn, name: label, eps: eps, norm: norm, steps: stepCount, restarts: restarts, ctx: ctx)
    }

    func with(steps: Int) -> Attack? {
        guard accepts("steps") else { return nil }
        return ScriptAttack(fn: fn, name: label, eps: eps, norm: norm, steps: steps, restarts: restarts, ctx: ctx)
    }

    /// One call of `fn` on the batch; the script's random numbers come from a generator seeded
    /// from `rng` (the global one is restored afterwards), so evaluations stay reproducible.
    // x: (N, C, H, W) -> (N, C, H, W)
    func callOnce(_ model: Model, _ x: Tensor, _ labels: [Int], rng: RNG) throws -> Tensor {
        let y = Tensor(shape: [labels.count], repeating: 0)
        for (i, l) in labels.enumerated() { y.ptr[i] = Float(l) }
        var named: [(name: String, value: Value)] = []
        if accepts("eps") { named.append(("eps", .number(Double(eps)))) }
        if accepts("steps"), let s = stepCount { named.append(("steps", .number(Double(s)))) }
        let saved = RNG.global
        RNG.global = RNG(seed: rng.next())
        defer { RNG.global = saved }
        let out = try ctx.call(fn, Arguments([.object(ModelObject(model)), .object(TensorObject(x.copy())), .object(TensorObject(y))],
                                             named: named, callee: label))
        guard case .object(let o) = out, let t = o as? TensorObject else {
            throw RuntimeError.type("attack \(label): the function must return the adversarial images as a tensor, got \(out.typeName)")
        }
        guard t.tensor.shape == x.shape else {
            throw RuntimeError.value("attack \(label): the function returned a tensor of shape \(t.tensor.shape) for images of shape \(x.shape)")
        }
        return t.tensor.detached().copy()
    }

    func attack(_ model: Model, _ x: Tensor, goal: AttackGoal, rng: RNG) throws -> AttackResult {
        guard goal.targetLabels == nil else {
            throw RuntimeError.value("attack \(label): a function attack is untargeted (it receives the true labels y)")
        }
        let n = x.shape[0], d = x.count / max(n, 1)
        // the worst case over restarts: the first restart that fools an example, else the
        // restart with the highest cross entropy
        var fooled = [Bool](repeating: false, count: n)
        var bestLoss = [Float](repeating: -.infinity, count: n)
        let adv = x.copy()
        for _ in 0..<restarts {
            let idx = (0..<n).filter { !fooled[$0] }
            if idx.isEmpty { break }
            let xs = try AttackOps.rows(x, idx)
            let out = try callOnce(model, xs, idx.map { goal.labels[$0] }, rng: rng)
            try AttackOps.checkOutput(out, clean: xs, eps: eps, norm: norm, attack: name)
            let logits = try Autograd.noGrad { try model.forward(out) }
            let pred = AttackOps.predictions(logits)
            let sub = try goal.subset(idx)
            let loss = try Autograd.noGrad { try AttackLoss.values(logits, kind: .ce, goal: sub) }
            for (k, i) in idx.enumerated() where sub.isSuccess(k, prediction: pred[k]) || loss[k] > bestLoss[i] {
                fooled[i] = sub.isSuccess(k, prediction: pred[k])
                bestLoss[i] = loss[k]
                (adv.ptr + i * d).update(from: out.ptr + k * d, count: d)
            }
        }
        return AttackResult(adversarial: adv, fooled: fooled)
    }
}
