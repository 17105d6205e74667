// Batch norm fused with the residual add and the activation after it (ResNet's bn -> act and
// bn -> + shortcut -> act; docs/architecture.md, "Memory"): `Tensor.batchNorm(..., residual:,
// act:)` writes act(bn(x) + r) in one pass over memory (CKernels/bnact.c) and keeps only x and r
// for backward, where the separate ops made two or three passes and kept the normalised values
// and the sum as well. Values and gradients are those of the separate ops bit for bit.
// x, r, out: (N, C, ...)
import CKernels

/// The activation a fused batch norm applies after its affine pass (and the residual add).
public enum NormActivation: Sendable {
    /// Exact-erf GELU (`Tensor.gelu`).
    case gelu
    /// max(x, 0) (`Tensor.relu`).
    case relu

    var kernelCode: Int32 { self == .gelu ? Int32(ADV_ACT_GELU) : Int32(ADV_ACT_RELU) }
}

extension Tensor {
    /// out = act(x * scale[ch] + shift[ch] + r) over (N, C, ...) planes in parallel; without act, the
    /// add alone (as `Tensor.add` computes it).
    static func applyBatchNormAct(_ x: Tensor, residual: Tensor?, act: NormActivation?, out: Tensor, scale: [Float],
                                  shift: [Float]) {
        let c = x.shape[1], hw = x.count / Swift.max(x.shape[0] * c, 1)
        let px = x.ptr, pr = residual.map { UnsafePointer($0.ptr) }, po = out.ptr
        scale.withUnsafeBufferPointer { sb in
            shift.withUnsafeBufferPointer { tb in
                guard let ps = sb.baseAddress, let pt = tb.baseAddress else { return }
                Parallel.forEach(x.shape[0] * c, minChunk: Swift.max(1, 65536 / Swift.max(hw, 1))) { r in
                    if let act = act {
                        adv_bn_act_forward(px, pr, po, c, hw, r.lowerBound, r.upperBound, ps, pt, act.kernelCode)
                    } else {
                        adv_bn_apply(px, po, c, hw, r.lowerBound, r.upperBound, ps, pt)
                        if let pr = pr {
                            for p in r { for j in p * hw..<(p + 1) * hw { po[j] = po[j] + pr[j] } }
                        }
                    }
                }
            }
        }
    }

    /// The backward of the fused batch norm: gt = g act'(t), the gradient of the pre-activation sum
    /// bn(x) + r (and r's), with t recomputed from x and r (bnact.c), then batch norm's backward
    /// from gt (`batchNormBackward`). In evaluation without weight and bias gradients (an attack's
    /// backward) the input gradient, weight rstd gt, is written in the same pass, and gt only when
    /// r needs it.
    /// - Parameters: as `batchNormBackward`, plus the residual r, the activation and the forward
    ///   pass's per-channel scale and shift.
    static func batchNormActBackward(_ g: Tensor, _ x: Tensor, weight: Tensor?, bias: Tensor?, residual: Tensor?,
                                     act: NormActivation?, scale: [Float], shift: [Float], mean: [Float], rstd: [Float],
                                     training: Bool, count: Int, sync: ((UnsafeMutablePointer<Double>, Int) -> Void)?) {
        let needR = residual?.requiresGrad ?? false
        let direct = !training && x.requiresGrad && !(weight?.requiresGrad ?? false) && !(bias?.requiresGrad ?? false)
        guard let act = act else {
            // The add alone: gt is g.
            batchNormBackward(g, x, weight: weight, bias: bias, mean: mean, rstd: rstd, training: training, count: count, sync: sync)
            if let r = residual, needR { r.addGrad(g) }
            return
        }
        let c = x.shape[1], hw = x.count / Swift.max(x.shape[0] * c, 1)
        let gt = !direct || needR ? Tensor(uninitialized: x.shape) : nil
        let dx = direct ? Tensor(uninitialized: x.shape) : nil
        // batchNormBackward's evaluation factor: dx = weight rstd gt.
        let pw = weight?.ptr
        let k = direct ? (0..<c).map { (pw?[$0] ?? 1) * rstd[$0] } : []
        let pg = g.ptr, px = x.ptr, pr = residual.map { UnsafePointer($0.ptr) }, pgt = gt?.ptr, pdx = dx?.ptr
        scale.withUnsafeBufferPointer { sb in
            shift.withUnsafeBufferPointer { tb in
                k.withUnsafeBufferPointer { kb in
                    guard let ps = sb.baseAddress, let pt = tb.baseAddress else { return }
                    let pk = kb.baseAddress
                    Parallel.forEach(x.shape[0] * c, minChunk: Swift.max(1, 65536 / Swift.max(hw, 1))) { r in
                        adv_bn_act_backward(pg, px, pr, pgt, pdx, pk, c, hw, r.lowerBound, r.upperBound, ps, pt, act.kernelCode)
                    }
                }
            }
        }
        if let dx = dx {
            x.addGrad(dx)
        } else if let gt = gt {
            batchNormBackward(gt, x, weight: weight, bias: bias, mean: mean, rstd: rstd, training: training, count: count, sync: sync)
        }
        if let r = residual, needR, let gt = gt { r.addGrad(gt) }
    }
}
