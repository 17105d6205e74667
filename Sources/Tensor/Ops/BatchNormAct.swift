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

    /// The gradient of the fused batch norm's output with respect to its pre-activation sum
    /// bn(x) + r (which is also r's gradient): g act'(t), t recomputed from x and r (bnact.c); g
    /// itself without an activation.
    static func batchNormActBackward(_ g: Tensor, _ x: Tensor, residual: Tensor?, act: NormActivation?, scale: [Float],
                                     shift: [Float]) -> Tensor {
        guard let act = act else { return g }
        let c = x.shape[1], hw = x.count / Swift.max(x.shape[0] * c, 1)
        let gt = Tensor(uninitialized: x.shape)
        let pg = g.ptr, px = x.ptr, pr = residual.map { UnsafePointer($0.ptr) }, pgt = gt.ptr
        scale.withUnsafeBufferPointer { sb in
            shift.withUnsafeBufferPointer { tb in
                guard let ps = sb.baseAddress, let pt = tb.baseAddress else { return }
                Parallel.forEach(x.shape[0] * c, minChunk: Swift.max(1, 65536 / Swift.max(hw, 1))) { r in
                    adv_bn_act_backward(pg, px, pr, pgt, c, hw, r.lowerBound, r.upperBound, ps, pt, act.kernelCode)
                }
            }
        }
        return gt
    }
}
