// Per-example attack losses on logits with their own backward: cross entropy (hard labels,
// soft targets, targeted = negated CE to the target) and AutoAttack's DLR loss, untargeted and
// targeted (APGD-T: `goal.lossTargets`).
// The recorded value is the *sum* over examples, so d(sum)/dx_i is example i's own gradient.
import Foundation
import Tensor

public enum AttackLoss {
    /// Per-example loss values only (no graph): what an attack ascends, e.g. to pick the
    /// worst restart.
    // logits: (N, C) -> N
    public static func values(_ logits: Tensor, kind: AttackLossKind, goal: AttackGoal) throws -> [Float] {
        try Autograd.noGrad { try compute(logits.detached(), kind: kind, goal: goal).values }
    }

    /// Per-example losses `l_i` (N) and a recorded scalar `sum_i l_i` to call backward on.
    // logits: (N, C) -> (values: N, total: scalar)
    static func compute(_ logits: Tensor, kind: AttackLossKind, goal: AttackGoal) throws -> (values: [Float], total: Tensor) {
        guard logits.rank == 2 else {
            throw EngineError.shape("attack loss: logits must be (N, classes), got \(logits.shape)")
        }
        let n = logits.shape[0], c = logits.shape[1]
        guard goal.count == n else { throw EngineError.shape("attack loss: \(goal.count) labels for \(n) logits") }
        if kind == .dlr && c < 3 {
            throw EngineError.invalidArgument("attack loss: DLR needs at least 3 classes, the model has \(c)")
        }
        if kind == .dlr && goal.targetLabels != nil {
            throw EngineError.invalidArgument("attack loss: targeted attacks use loss \"ce\", not \"dlr\"")
        }
        if kind == .dlr && goal.lossTargets != nil && c < 4 {
            throw EngineError.invalidArgument("attack loss: the targeted DLR loss needs at least 4 classes, the model has \(c)")
        }
        let grad = Tensor(zeros: [n, c])
        var values = [Float](repeating: 0, count: n)
        let z = logits.ptr, g = grad.ptr
        let soft = goal.softTargets?.ptr
        var p = [Float](repeating: 0, count: c)
        for i in 0..<n {
            let row = z + i * c, grow = g + i * c
            switch kind {
            case .ce:
                // log-sum-exp with the max subtracted
                var m = -Float.infinity
                for j in 0..<c { m = max(m, row[j]) }
                var s: Float = 0
                for j in 0..<c { p[j] = expf(row[j] - m); s += p[j] }
                let lse = m + logf(s)
                // softmax as exp(z - lse), the form PyTorch's log_softmax backward uses
                for j in 0..<c { p[j] = expf(row[j] - lse) }
                if let t = goal.targetLabels {
                    // maximise -CE(target): l = z_t - lse, dl/dz = onehot(t) - softmax
                    let y = t[i]
                    values[i] = row[y] - lse
                    for j in 0..<c { grow[j] = -p[j] }
                    grow[y] += 1
                } else if let st = soft {
                    // l = -sum_j t_j (z_j - lse), dl/dz = softmax * sum(t) - t
                    let trow = st + i * c
                    var tsum: Float = 0, dot: Float = 0
                    for j in 0..<c { tsum += trow[j]; dot += trow[j] * row[j] }
                    values[i] = lse * tsum - dot
                    for j in 0..<c { grow[j] = p[j] * tsum - trow[j] }
                } else {
                    let y = goal.labels[i]
                    values[i] = lse - row[y]
                    for j in 0..<c { grow[j] = p[j] }
                    grow[y] -= 1
                }
            case .dlr where goal.lossTargets != nil:
                targetedDLR(row, grow, c: c, y: goal.labels[i], t: goal.lossTargets![i], value: &values[i])
            case .dlr:
                // l = -(z_y - z_other) / (z_(1) - z_(3) + 1e-12), z_(k) the k-th largest logit;
                // z_other is the second largest when y is the top class, else the largest.
                let y = goal.labels[i]
                var i1 = -1, i2 = -1, i3 = -1
                for j in 0..<c {
                    let v = row[j]
                    if i1 < 0 || v > row[i1] { i3 = i2; i2 = i1; i1 = j }
                    else if i2 < 0 || v > row[i2] { i3 = i2; i2 = j }
                    else if i3 < 0 || v > row[i3] { i3 = j }
                }
                let other = i1 == y ? i2 : i1
                // l = a / den with a = z_other - z_y; the backward follows PyTorch's division
                // (d/da = 1/den, d/dden = -((a/den)/den)) so that the two paths cancel exactly
                // when y is the third-largest class (l = 1, gradient exactly 0), as in the reference.
                let a = -(row[y] - row[other])
                let den = row[i1] - row[i3] + 1e-12
                values[i] = a / den
                let ga = 1 / den, gden = -((a / den) / den)
                grow[y] -= ga
                grow[other] += ga
                grow[i1] += gden
                grow[i3] -= gden
            }
        }
        var total: Float = 0
        for v in values { total += v }
        let out = Tensor(scalar: total)
        out.record([logits]) { gOut in
            let s = gOut.item
            let scaled = Tensor(zeros: [n, c])
            let d = scaled.ptr, src = grad.ptr
            for k in 0..<(n * c) { d[k] = src[k] * s }
            logits.addGrad(scaled)
        }
        return (values, out)
    }

    /// AutoAttack's targeted DLR loss of one row and its gradient (docs/reference.md section 7):
    /// l = -(z_y - z_t) / (z_(1) - (z_(3) + z_(4)) / 2 + 1e-12), z_(k) the k-th largest logit;
    /// the backward follows PyTorch's division rule as the untargeted DLR does.
    // row, grow: C
    static func targetedDLR(_ row: UnsafeMutablePointer<Float>, _ grow: UnsafeMutablePointer<Float>, c: Int,
                            y: Int, t: Int, value: inout Float) {
        var top = [Int](repeating: -1, count: 4)
        for j in 0..<c {
            var k = 4
            while k > 0 && (top[k - 1] < 0 || row[j] > row[top[k - 1]]) { k -= 1 }
            if k < 4 {
                var q = 3
                while q > k { top[q] = top[q - 1]; q -= 1 }
                top[k] = j
            }
        }
        let a = -(row[y] - row[t])
        let den = row[top[0]] - (row[top[2]] + row[top[3]]) * 0.5 + 1e-12
        value = a / den
        let ga = 1 / den, gden = -((a / den) / den)
        grow[y] -= ga
        grow[t] += ga
        grow[top[0]] += gden
        grow[top[2]] -= 0.5 * gden
        grow[top[3]] -= 0.5 * gden
    }
}
