// Gradient utilities used by the training step: global norm, clipping (torch.nn.utils.clip_grad_norm_,
// as timm's dispatch_clip_grad "norm" mode), finiteness check and scaling (loss-scale unscaling,
// gradient-accumulation averaging).
import Foundation
import Tensor

public enum GradientTools {
    /// The L2 norm of all gradients together (nil gradients count as zero); NaN/inf when any is.
    public static func globalNorm(_ params: [NamedTensor]) -> Double {
        var total = 0.0
        for p in params {
            guard let g = p.tensor.grad else { continue }
            let gp = g.ptr
            var s = 0.0
            for i in 0..<g.count { let v = Double(gp[i]); s += v * v }
            total += s
        }
        return total.squareRoot()
    }

    /// True when every gradient value is finite.
    public static func allFinite(_ params: [NamedTensor]) -> Bool {
        for p in params {
            guard let g = p.tensor.grad else { continue }
            if !allFinite(g.ptr, count: g.count) { return false }
        }
        return true
    }

    /// True when none of `count` floats is inf or NaN (exponent bits all ones). The largest masked
    /// exponent over blocks of 4096 values is a loop without branches that the compiler
    /// vectorizes (a value-by-value `isFinite` with an early exit ran scalar: 0.6% of a `fit`
    /// profile of convnext_atto at 32x32, more for larger models).
    static func allFinite(_ p: UnsafeMutablePointer<Float>, count n: Int) -> Bool {
        let exponent: UInt32 = 0x7f80_0000
        return UnsafeRawPointer(p).withMemoryRebound(to: UInt32.self, capacity: n) { bits in
            var start = 0
            while start < n {
                let end = Swift.min(n, start + 4096)
                var largest: UInt32 = 0
                for i in start..<end { largest = Swift.max(largest, bits[i] & exponent) }
                if largest == exponent { return false }
                start = end
            }
            return true
        }
    }

    /// Multiplies every gradient by `factor`.
    public static func scale(_ params: [NamedTensor], by factor: Float) {
        guard factor != 1 else { return }
        for p in params {
            guard let g = p.tensor.grad else { continue }
            let gp = g.ptr
            for i in 0..<g.count { gp[i] *= factor }
        }
    }

    /// Clips the global gradient norm to `maxNorm` like torch.nn.utils.clip_grad_norm_
    /// (factor maxNorm / (norm + 1e-6), applied only when below 1). Returns the norm before clipping.
    /// - Parameters:
    ///   - params: parameters whose gradients are clipped together.
    ///   - maxNorm: the largest allowed norm.
    @discardableResult
    public static func clip(_ params: [NamedTensor], maxNorm: Double) -> Double {
        let norm = globalNorm(params)
        let coef = maxNorm / (norm + 1e-6)
        if coef < 1 { scale(params, by: Float(coef)) }
        return norm
    }
}
