// Per-example helpers shared by the attacks: input gradients, predictions, sign steps,
// projections onto the L-inf / L2 ball, random starts, and row gather/scatter.
// All work on flat (N, D) views of (N, C, H, W) tensors with raw pointers.
import Foundation
import Tensor

public enum AttackOps {
    /// Checks that `x` is a batch of images the model accepts, with pixels in [0, 1].
    // x: (N, C, H, W)
    static func checkImages(_ x: Tensor, model: Model, attack: String) throws {
        let s = model.inputShape
        guard x.rank == 4, x.shape[1] == s.channels, x.shape[2] == s.height, x.shape[3] == s.width else {
            throw EngineError.shape("\(attack): images must be (N, \(s.channels), \(s.height), \(s.width)) for model \(model.name), got \(x.shape)")
        }
        let p = x.ptr
        for k in 0..<x.count where !(p[k] >= 0 && p[k] <= 1) {
            throw EngineError.invalidArgument("\(attack): pixels must be in [0, 1] (eps is in pixel space), found \(p[k]) at flat index \(k)")
        }
    }

    /// Checks an attack's output against its threat model: every pixel in [0, 1] and every
    /// image within eps of the clean one (L-inf: max |x_adv - x|; L2: ||x_adv - x||_2), with a
    /// float-rounding tolerance of 1e-6 (plus 1e-5 relative for L2). The error names the
    /// attack, the image and the largest violation.
    // adv, clean: (N, C, H, W)
    public static func checkOutput(_ adv: Tensor, clean x: Tensor, eps: Float, norm: AttackNorm, attack: String) throws {
        guard adv.shape == x.shape else {
            throw EngineError.shape("\(attack): returned images of shape \(adv.shape) for inputs of shape \(x.shape)")
        }
        let n = x.shape.first ?? 0, d = n == 0 ? 0 : x.count / n
        let a = adv.ptr, c = x.ptr
        var worstPixel: (k: Int, v: Float)? = nil
        for k in 0..<adv.count where !(a[k] >= 0 && a[k] <= 1) {
            let over = a[k].isNaN ? Float.infinity : max(a[k] - 1, -a[k])
            if worstPixel == nil || over > max(worstPixel!.v - 1, -worstPixel!.v) { worstPixel = (k, a[k]) }
        }
        if let w = worstPixel {
            throw EngineError.invalidArgument("\(attack): returned pixel value \(w.v) (image \(w.k / max(d, 1)), flat index \(w.k % max(d, 1))) outside [0, 1]; an attack must clip its images to [0, 1]")
        }
        var worst: (i: Int, dist: Float) = (-1, 0)
        for i in 0..<n {
            var s: Float = 0
            for k in (i * d)..<((i + 1) * d) {
                let t = a[k] - c[k]
                if norm == .linf { s = max(s, abs(t)) } else { s += t * t }
            }
            if norm == .l2 { s = s.squareRoot() }
            if s > worst.dist { worst = (i, s) }
        }
        let limit = norm == .linf ? eps + 1e-6 : eps * (1 + 1e-5) + 1e-6
        if worst.dist > limit {
            let what = norm == .linf ? "L-inf" : "L2"
            throw EngineError.invalidArgument("\(attack): returned image \(worst.i) at \(what) distance \(worst.dist) from the clean image, outside the eps-ball (eps \(fmt(eps, norm: norm)) = \(eps), largest violation \(worst.dist - eps)); project onto the ball, e.g. x + clamp(x_adv - x, -eps, eps) for L-inf")
        }
    }

    /// Rows `idx` of `t` (first axis), in that order.
    // t: (N, ...) -> (idx.count, ...)
    public static func rows(_ t: Tensor, _ idx: [Int]) throws -> Tensor {
        guard t.rank >= 1 else { throw EngineError.shape("rows: need at least one dimension, got \(t.shape)") }
        let n = t.shape[0], d = n == 0 ? 0 : t.count / n
        var shape = t.shape; shape[0] = idx.count
        let out = Tensor(zeros: shape)
        let src = t.ptr, dst = out.ptr
        for (k, i) in idx.enumerated() {
            guard i >= 0 && i < n else { throw EngineError.shape("rows: index \(i) outside 0..<\(n)") }
            (dst + k * d).update(from: src + i * d, count: d)
        }
        return out
    }

    /// Writes row k of `src` into row idx[k] of `dst`.
    // dst: (N, ...), src: (idx.count, ...)
    static func scatterRows(_ dst: Tensor, _ idx: [Int], from src: Tensor) {
        let d = dst.shape[0] == 0 ? 0 : dst.count / dst.shape[0]
        let s = src.ptr, o = dst.ptr
        for (k, i) in idx.enumerated() { (o + i * d).update(from: s + k * d, count: d) }
    }

    /// Class predictions (argmax of each row).
    // logits: (N, C) -> N
    public static func predictions(_ logits: Tensor) -> [Int] {
        let n = logits.shape[0], c = logits.count / max(n, 1)
        let p = logits.ptr
        return (0..<n).map { i in
            var best = 0
            for j in 1..<max(c, 1) where p[i * c + j] > p[i * c + best] { best = j }
            return best
        }
    }

    /// Logits, per-example loss and d(loss_i)/dx_i for every example.
    // x: (N, C, H, W) -> logits (N, K), loss N, grad (N, C, H, W)
    static func lossAndGradient(_ model: Model, _ x: Tensor, kind: AttackLossKind,
                                goal: AttackGoal) throws -> (logits: Tensor, loss: [Float], grad: Tensor) {
        try Interrupt.check()
        let leaf = x.copy()
        leaf.requiresGrad = true
        let logits = try model.forward(leaf)
        guard logits.rank == 2, logits.shape[0] == x.shape[0] else {
            throw EngineError.shape("model \(model.name) returned logits \(logits.shape) for \(x.shape[0]) images")
        }
        let (values, total) = try AttackLoss.compute(logits, kind: kind, goal: goal)
        if total.requiresGrad { try total.backward() }
        let grad = leaf.grad ?? Tensor(zeros: x.shape)
        return (logits.detached(), values, grad)
    }

    /// Logits without recording a graph.
    static func logits(_ model: Model, _ x: Tensor) throws -> Tensor {
        try Autograd.noGrad { try model.forward(x) }
    }

    /// x <- clip_[0,1](proj_eps(x + step * direction)) per example, in place, where the
    /// direction is sign(g) for L-inf and g / ||g||_2 for L2 (torchattacks' PGD/PGDL2).
    // x, x0, g: (N, D)
    static func ascend(_ x: Tensor, clean x0: Tensor, grad g: Tensor, step: Float, eps: Float, norm: AttackNorm) {
        let n = x.shape[0], d = x.count / max(n, 1)
        let xp = x.ptr, cp = x0.ptr, gp = g.ptr
        switch norm {
        case .linf:
            for k in 0..<x.count {
                let gk = gp[k]
                let s: Float = gk > 0 ? 1 : (gk < 0 ? -1 : 0)
                let v = xp[k] + step * s
                let delta = min(max(v - cp[k], -eps), eps)
                xp[k] = min(max(cp[k] + delta, 0), 1)
            }
        case .l2:
            for i in 0..<n {
                let o = i * d
                var gn: Float = 0
                for k in o..<(o + d) { gn += gp[k] * gp[k] }
                let scale = step / (gn.squareRoot() + 1e-10)
                for k in o..<(o + d) { xp[k] += scale * gp[k] }
            }
            projectL2(x, clean: x0, eps: eps)
        }
    }

    /// Projects each example onto the L2 ball of radius eps around x0, then clips to [0, 1]
    /// (torchattacks: delta * min(1, eps / ||delta||)).
    // x, x0: (N, D)
    static func projectL2(_ x: Tensor, clean x0: Tensor, eps: Float) {
        let n = x.shape[0], d = x.count / max(n, 1)
        let xp = x.ptr, cp = x0.ptr
        for i in 0..<n {
            let o = i * d
            var dn: Float = 0
            for k in o..<(o + d) { let t = xp[k] - cp[k]; dn += t * t }
            let norm = dn.squareRoot()
            let f: Float = norm > 0 ? min(eps / norm, 1) : 1
            for k in o..<(o + d) { xp[k] = min(max(cp[k] + (xp[k] - cp[k]) * f, 0), 1) }
        }
    }

    /// A random start: L-inf: x + U(-eps, eps) per element; L2: a uniformly random direction
    /// with radius U(0, eps) (torchattacks' PGDL2); clipped to [0, 1]. Draws N*D (L-inf) or
    /// N*D + N (L2) numbers from `rng`, row by row.
    // x: (N, D) -> (N, D)
    static func randomStart(_ x: Tensor, eps: Float, norm: AttackNorm, rng: RNG, imageRNGs: [RNG]? = nil) -> Tensor {
        let out = x.copy()
        let n = x.shape[0], d = x.count / max(n, 1)
        let p = out.ptr
        // Row i draws from its own generator when given one per image (the same draws either way).
        let rows = imageRNGs.flatMap { $0.count == n ? $0 : nil }
        switch norm {
        case .linf:
            for i in 0..<n {
                let r = rows?[i] ?? rng
                for k in (i * d)..<((i + 1) * d) { p[k] = min(max(p[k] + (2 * r.uniform() - 1) * eps, 0), 1) }
            }
        case .l2:
            var delta = [Float](repeating: 0, count: d)
            for i in 0..<n {
                let rng = rows?[i] ?? rng
                var dn: Float = 0
                for k in 0..<d { delta[k] = rng.normal(); dn += delta[k] * delta[k] }
                let r = rng.uniform() * eps / (dn.squareRoot() + 1e-12)
                for k in 0..<d { p[i * d + k] = min(max(p[i * d + k] + delta[k] * r, 0), 1) }
            }
        }
        return out
    }
}
