// Group norm with its affine in one pass over the data each way, from per-plane sums.
// x: (N, C, ...) with groups dividing C -> (N, C, ...)
//
// A group of sample n is `C / groups` consecutive planes (channel maps) of x. The forward pass
// takes each plane's mean and variance (CKernels/norm.c's batch-norm statistics, with every plane
// a "channel"), combines them per group in double (Chan et al.'s parallel variance), then writes
// y = (x - mean) rstd weight[c] + bias[c] in one pass (CKernels/groupnorm.c). The backward pass
// takes per-plane sums of g and g (x - mean), combines them per group and per channel, and writes
// the input gradient in one pass. Only x and the per-group statistics are kept for backward (no
// normalised copy), and every sum is a function of the planes alone, so the results do not depend
// on the thread count (docs/architecture.md, "Determinism").
import CKernels

extension Tensor {
    /// Group norm over `groups` groups of channels per sample (biased variance, as PyTorch), then
    /// the per-channel affine, fused; `groupNorm` (Norm.swift) checks the arguments and calls it.
    /// - Parameters:
    ///   - x: (N, C, ...), C divisible by groups, N * C > 0
    ///   - weight: (C) or nil (1); bias: (C) or nil (0)
    static func groupNormFused(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        let n = x.shape[0], c = x.shape[1]
        let planes = n * c, hw = x.count / planes, cg = c / groups
        // Per-plane mean and biased variance (two passes per plane, sums in double).
        var pm = [Float](repeating: 0, count: planes), pv = pm
        pm.withUnsafeMutableBufferPointer { mb in
            pv.withUnsafeMutableBufferPointer { vb in
                let m = mb.baseAddress!, v = vb.baseAddress!, px = x.ptr
                Parallel.forEach(planes, minChunk: Swift.max(1, 32768 / Swift.max(hw, 1))) { r in
                    adv_bn_stats(px, 1, planes, hw, r.lowerBound, r.upperBound, m, v)
                }
            }
        }
        // Per group: mean = mean of the plane means, M2 = sum(plane M2 + hw (plane mean - mean)^2).
        var mean = [Float](repeating: 0, count: n * groups), rstd = mean
        for row in 0..<(n * groups) {
            var s = 0.0
            for p in (row * cg)..<((row + 1) * cg) { s += Double(pm[p]) }
            let mu = s / Double(cg)
            var m2 = 0.0
            for p in (row * cg)..<((row + 1) * cg) {
                let d = Double(pm[p]) - mu
                m2 += Double(pv[p]) * Double(hw) + Double(hw) * d * d
            }
            mean[row] = Float(mu)
            rstd[row] = 1 / (Float(m2 / Double(cg * hw)) + eps).squareRoot()
        }
        // Per plane: y = (x - mean) * (rstd w[c]) + b[c].
        let pw = weight?.ptr, pb = bias?.ptr
        var center = [Float](repeating: 0, count: planes), scale = center, shift = center
        for p in 0..<planes {
            let row = p / cg, ch = p % c
            center[p] = mean[row]
            scale[p] = rstd[row] * (pw?[ch] ?? 1)
            shift[p] = pb?[ch] ?? 0
        }
        let out = Tensor(uninitialized: x.shape)
        Tensor.planeCall(center, scale, shift) { pc, ps, pt in
            let px = x.ptr, po = out.ptr
            Parallel.forEach(planes, minChunk: Swift.max(1, 65536 / Swift.max(hw, 1))) { r in
                adv_gn_apply(px, po, hw, r.lowerBound, r.upperBound, pc, ps, pt)
            }
        }
        var inputs = [x]
        if let w = weight { inputs.append(w) }
        if let b = bias { inputs.append(b) }
        let stats = (mean: mean, rstd: rstd)
        out.record(inputs) { g in
            Tensor.groupNormFusedBackward(g, x, groups: groups, weight: weight, bias: bias, mean: stats.mean, rstd: stats.rstd)
        }
        return out
    }

    /// The gradients of `groupNormFused`. With xhat = (x - mean) rstd over a group of D = C/groups x
    /// pixels values and dxhat = g weight[c]: dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat))
    /// per group, dweight[c] = sum over samples and pixels of g xhat, dbias[c] = sum of g.
    /// - Parameters:
    ///   - g: (N, C, ...) the output gradient
    ///   - x: the input; weight, bias: (C) or nil; each receives its gradient
    ///   - mean, rstd: (N * groups) the statistics of the forward pass
    static func groupNormFusedBackward(_ g: Tensor, _ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?,
                                       mean: [Float], rstd: [Float]) {
        let n = x.shape[0], c = x.shape[1]
        let planes = n * c, hw = x.count / planes, cg = c / groups
        let center = (0..<planes).map { mean[$0 / cg] }
        // Per plane: sum(g) and sum(g (x - mean)), in double within the plane.
        var sg = [Float](repeating: 0, count: planes), sgx = sg
        sg.withUnsafeMutableBufferPointer { gb in
            sgx.withUnsafeMutableBufferPointer { xb in
                center.withUnsafeBufferPointer { cb in
                    let psg = gb.baseAddress!, psx = xb.baseAddress!, pc = cb.baseAddress!, pg = g.ptr, px = x.ptr
                    Parallel.forEach(planes, minChunk: Swift.max(1, 32768 / Swift.max(hw, 1))) { r in
                        adv_bn_grad_sums(pg, px, pc, 1, planes, hw, r.lowerBound, r.upperBound, psg, psx)
                    }
                }
            }
        }
        let pw = weight?.ptr
        // Parameter gradients: per channel, summed over the samples in order.
        if let w = weight, w.requiresGrad {
            let gw = Tensor(zeros: [c])
            for i in 0..<n { for ch in 0..<c { gw.ptr[ch] += sgx[i * c + ch] * rstd[(i * c + ch) / cg] } }
            w.addGrad(gw)
        }
        if let b = bias, b.requiresGrad {
            let gb = Tensor(zeros: [c])
            for i in 0..<n { for ch in 0..<c { gb.ptr[ch] += sg[i * c + ch] } }
            b.addGrad(gb)
        }
        guard x.requiresGrad else { return }
        // dx = a g + b (x - mean) + d per plane: a = rstd w[c], b = -rstd^2 m2, d = -rstd m1 with
        // m1 = mean(dxhat), m2 = mean(dxhat xhat) / rstd over the group.
        var ka = [Float](repeating: 0, count: planes), kb = ka, kd = ka
        let count = Double(cg * hw)
        for row in 0..<(n * groups) {
            var m1 = 0.0, m2 = 0.0
            for p in (row * cg)..<((row + 1) * cg) {
                let wc = Double(pw?[p % c] ?? 1)
                m1 += wc * Double(sg[p])
                m2 += wc * Double(sgx[p])
            }
            let rs = Double(rstd[row])
            m1 /= count
            m2 /= count
            for p in (row * cg)..<((row + 1) * cg) {
                ka[p] = Float(rs) * (pw?[p % c] ?? 1)
                kb[p] = Float(-rs * rs * rs * m2)
                kd[p] = Float(-rs * m1)
            }
        }
        let gx = Tensor(uninitialized: x.shape)
        Tensor.planeCall(center, ka, kb, kd) { pc, pa, pb, pd in
            let pg = g.ptr, px = x.ptr, pgx = gx.ptr
            Parallel.forEach(planes, minChunk: Swift.max(1, 65536 / Swift.max(hw, 1))) { r in
                adv_gn_input_grad(pg, px, pgx, hw, r.lowerBound, r.upperBound, pc, pa, pb, pd)
            }
        }
        x.addGrad(gx)
    }

    /// Calls `body` with pointers to the arrays' elements (per-plane coefficients for a kernel).
    static func planeCall(_ a: [Float], _ b: [Float], _ c: [Float],
                          _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>) -> Void) {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeBufferPointer { pc in body(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!) }
            }
        }
    }

    /// As `planeCall(_:_:_:_:)` with four arrays.
    static func planeCall(_ a: [Float], _ b: [Float], _ c: [Float], _ d: [Float],
                          _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>) -> Void) {
        d.withUnsafeBufferPointer { pd in planeCall(a, b, c) { body($0, $1, $2, pd.baseAddress!) } }
    }
}
