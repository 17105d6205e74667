// RNG: a deterministic random generator (xoshiro256**, seeded through splitmix64).
//
// One seed gives one stream on every machine: no system entropy, no Foundation generators.
// Normals use Box-Muller (caching the second value), Beta uses two Gammas (Marsaglia-Tsang).
import Foundation

/// A deterministic pseudo-random generator (xoshiro256**). Not thread-safe: one per consumer.
public final class RNG {
    var s0: UInt64 = 0, s1: UInt64 = 0, s2: UInt64 = 0, s3: UInt64 = 0
    /// The second Box-Muller value, kept for the next `normal()` call (part of `state`).
    var spareNormal: Float? = nil

    /// The generator every builtin uses unless given its own (reseeded by `seed(n)`).
    public nonisolated(unsafe) static var global = RNG(seed: 0)

    /// A generator whose whole stream is determined by `seed`.
    /// - Parameters:
    ///   - seed: any 64-bit value; expanded to 256 bits of state with splitmix64.
    public init(seed: UInt64) {
        reseed(seed)
    }

    /// Restarts the stream as if freshly created with `seed`.
    public func reseed(_ seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
        spareNormal = nil
    }

    /// The full generator state, for checkpoints: 4 words of xoshiro state plus one word holding
    /// a cached normal (bit 32 set when present, low 32 bits the Float's bit pattern).
    public var state: [UInt64] {
        get {
            let spare: UInt64 = spareNormal.map { (1 << 32) | UInt64($0.bitPattern) } ?? 0
            return [s0, s1, s2, s3, spare]
        }
        set {
            guard newValue.count >= 4 else { return }
            s0 = newValue[0]; s1 = newValue[1]; s2 = newValue[2]; s3 = newValue[3]
            if s0 | s1 | s2 | s3 == 0 { s3 = 1 } // the all-zero state is a fixed point
            if newValue.count >= 5, newValue[4] & (1 << 32) != 0 {
                spareNormal = Float(bitPattern: UInt32(truncatingIfNeeded: newValue[4]))
            } else {
                spareNormal = nil
            }
        }
    }

    /// The next 64 random bits.
    @inline(__always) public func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform Float in [0, 1) (24 random bits).
    @inline(__always) public func uniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A uniform Double in [0, 1) (53 random bits).
    @inline(__always) public func uniformDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A standard normal sample (Box-Muller in double precision).
    public func normal() -> Float {
        if let s = spareNormal { spareNormal = nil; return s }
        let u1 = 1.0 - uniformDouble() // (0, 1]: log is finite
        let u2 = uniformDouble()
        let r = (-2.0 * Foundation.log(u1)).squareRoot()
        let a = 2.0 * Double.pi * u2
        spareNormal = Float(r * Foundation.sin(a))
        return Float(r * Foundation.cos(a))
    }

    /// Writes n standard normal samples times `scale` into p: exactly the values n calls of
    /// `normal()` would give (same uniforms in the same order, same Box-Muller arithmetic, spare
    /// value used first and left over the same way), with the log/sin/cos of large fills spread
    /// over the threads (weight initialisation of big models was seconds of scalar libm calls).
    /// - Parameters:
    ///   - p: n floats to write.
    ///   - n: the number of samples.
    ///   - scale: multiplies each sample (as `normal() * scale`).
    public func fillNormal(_ p: UnsafeMutablePointer<Float>, _ n: Int, scale: Float = 1) {
        guard n > 0 else { return }
        var start = 0
        if let s = spareNormal { spareNormal = nil; p[0] = s * scale; start = 1 }
        let m = n - start
        guard m > 0 else { return }
        let pairs = (m + 1) / 2
        // Blocks of pairs: uniforms drawn in order into a small buffer (stays in cache), then
        // the block's log/sin/cos over the threads.
        let block = 1 << 15
        let u = UnsafeMutablePointer<Double>.allocate(capacity: 2 * Swift.min(pairs, block))
        defer { u.deallocate() }
        let out = p + start
        var k0 = 0
        while k0 < pairs {
            let cnt = Swift.min(block, pairs - k0)
            for k in 0..<cnt {
                u[2 * k] = 1.0 - uniformDouble() // (0, 1]: log is finite
                u[2 * k + 1] = uniformDouble()
            }
            let o = out + 2 * k0, left = m - 2 * k0  // floats still to write from o
            Parallel.forEach(cnt, minChunk: 2048) { r in
                for k in r {
                    let radius = (-2.0 * Foundation.log(u[2 * k])).squareRoot()
                    let a = 2.0 * Double.pi * u[2 * k + 1]
                    o[2 * k] = Float(radius * Foundation.cos(a)) * scale
                    if 2 * k + 1 < left { o[2 * k + 1] = Float(radius * Foundation.sin(a)) * scale }
                }
            }
            k0 += cnt
            if k0 == pairs && m % 2 == 1 {
                // The last pair's second value waits for the next call, as in `normal()`.
                let k = cnt - 1
                let radius = (-2.0 * Foundation.log(u[2 * k])).squareRoot()
                spareNormal = Float(radius * Foundation.sin(2.0 * Double.pi * u[2 * k + 1]))
            }
        }
    }

    /// As `fillNormal`, redrawing every sample outside [low, high] (timm's trunc_normal_ with
    /// absolute bounds): the same values as a loop of `normal() * scale` with rejection.
    public func fillTruncatedNormal(_ p: UnsafeMutablePointer<Float>, _ n: Int, scale: Float, low: Float, high: Float) {
        let saved = state
        fillNormal(p, n, scale: scale)
        var inside = true
        for i in 0..<n where !(p[i] >= low && p[i] <= high) { inside = false; break }
        if inside { return }
        // Rare (bounds within a few standard deviations): redo it one draw at a time, since a
        // rejection shifts every later draw.
        state = saved
        for i in 0..<n {
            var v = normal() * scale
            while v < low || v > high { v = normal() * scale }
            p[i] = v
        }
    }

    /// A standard normal sample in Double precision (used by Gamma).
    func normalDouble() -> Double {
        let u1 = 1.0 - uniformDouble()
        let u2 = uniformDouble()
        return (-2.0 * Foundation.log(u1)).squareRoot() * Foundation.cos(2.0 * Double.pi * u2)
    }

    /// True with probability `p` (clamped to [0, 1]).
    public func bernoulli(_ p: Double) -> Bool {
        uniformDouble() < p
    }

    /// A uniform integer in [0, n) without modulo bias (Lemire's method); 0 when n <= 1.
    public func int(_ n: Int) -> Int {
        guard n > 1 else { return 0 }
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }

    /// A uniformly random ordering of 0..<n (Fisher-Yates).
    public func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<max(n, 0))
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) {
                let j = int(i + 1)
                if i != j { p.swapAt(i, j) }
            }
        }
        return p
    }

    /// A Gamma(shape a, scale 1) sample (Marsaglia-Tsang; a < 1 by the boost a+1 then u^(1/a)).
    public func gamma(_ a: Double) -> Double {
        guard a > 0, a.isFinite else { return 0 }
        if a < 1 {
            let u = 1.0 - uniformDouble()
            return gamma(a + 1) * Foundation.pow(u, 1.0 / a)
        }
        let d = a - 1.0 / 3.0
        let c = 1.0 / (9.0 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat {
                x = normalDouble()
                v = 1.0 + c * x
            } while v <= 0
            v = v * v * v
            let u = 1.0 - uniformDouble()
            if u < 1.0 - 0.0331 * x * x * x * x { return d * v }
            if Foundation.log(u) < 0.5 * x * x + d * (1.0 - v + Foundation.log(v)) { return d * v }
        }
    }

    /// A Beta(a, b) sample via two Gammas: X / (X + Y). Used by mixup (a = b = alpha).
    public func beta(_ a: Double, _ b: Double) -> Double {
        let x = gamma(a), y = gamma(b)
        let s = x + y
        guard s > 0 else { return uniformDouble() < a / (a + b) ? 1 : 0 }
        return x / s
    }
}

extension Tensor {
    /// A tensor of uniform samples in [0, 1).
    /// - Parameters:
    ///   - shape: the result's shape.
    ///   - rng: the generator (default `RNG.global`).
    public static func rand(_ shape: [Int], rng: RNG = RNG.global) -> Tensor {
        let t = Tensor(zeros: shape)
        let p = t.ptr
        for i in 0..<t.count { p[i] = rng.uniform() }
        return t
    }

    /// A tensor of standard normal samples.
    /// - Parameters:
    ///   - shape: the result's shape.
    ///   - rng: the generator (default `RNG.global`).
    public static func randn(_ shape: [Int], rng: RNG = RNG.global) -> Tensor {
        let t = Tensor(uninitialized: shape)
        rng.fillNormal(t.ptr, t.count)
        return t
    }

    /// A tensor of uniform samples in [low, high).
    /// - Parameters:
    ///   - shape: the result's shape.
    ///   - low: the inclusive lower bound.
    ///   - high: the exclusive upper bound.
    ///   - rng: the generator (default `RNG.global`).
    public static func uniform(_ shape: [Int], low: Float, high: Float, rng: RNG = RNG.global) -> Tensor {
        let t = Tensor(zeros: shape)
        let p = t.ptr
        let w = high - low
        for i in 0..<t.count { p[i] = low + w * rng.uniform() }
        return t
    }
}
