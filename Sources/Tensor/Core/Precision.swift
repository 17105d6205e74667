// Precision of the inputs of matrix products and convolutions (accumulation is always fp32).
import CKernels

/// fp32: exact; bf16: inputs rounded to bfloat16 (round to nearest even); fp16: inputs rounded
/// to IEEE half (overflow to inf, as real fp16 does).
public enum Precision: String, CaseIterable {
    case fp32, bf16, fp16

    /// The precision ops use when the caller does not say (models set it around forward).
    public nonisolated(unsafe) static var current: Precision = .fp32

    /// Runs `body` with `current` set to `p`, restoring the previous value afterwards.
    public static func with<T>(_ p: Precision, _ body: () throws -> T) rethrows -> T {
        let saved = current
        current = p
        defer { current = saved }
        return try body()
    }

    /// Rounds one value to this precision (the value stays a Float).
    @inline(__always) public func round(_ x: Float) -> Float {
        switch self {
        case .fp32: return x
        case .bf16: return Precision.bf16Round(x)
        case .fp16: return Float(Float16(x))
        }
    }

    /// bfloat16 round-to-nearest-even of a float (NaN stays NaN; overflow rounds to inf).
    @inline(__always) public static func bf16Round(_ x: Float) -> Float {
        let b = x.bitPattern
        if x.isNaN { return x }
        let lsb = (b >> 16) & 1
        let r = b &+ 0x7FFF &+ lsb
        return Float(bitPattern: r & 0xFFFF_0000)
    }

    /// Rounds `n` floats from `src` into `dst` (which may equal `src`).
    public func round(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
        switch self {
        case .fp32:
            if UnsafePointer(dst) != src { dst.update(from: src, count: n) }
        case .bf16:
            // CKernels/elementwise.c, vectorized, in chunks over the pool.
            Parallel.forEach(n, minChunk: 1 << 16) { r in
                adv_round_bf16(src + r.lowerBound, dst + r.lowerBound, r.count)
            }
        case .fp16:
            for i in 0..<n { dst[i] = Float(Float16(src[i])) }
        }
    }

    /// A copy of `t` with every value rounded to this precision (no graph).
    public func rounded(_ t: Tensor) -> Tensor {
        if self == .fp32 { return t }
        let out = Tensor(uninitialized: t.shape)
        round(t.ptr, out.ptr, t.count)
        return out
    }
}
