// Vectorised exp and normal CDF/PDF (SIMD8) for softmax, GELU and their gradients.
//
// exp: Cephes-style range reduction x = n ln2 + r, degree-6 polynomial, 2^n from the exponent
// bits (relative error ~1e-7 over [-87, 88]). Phi(x) via Abramowitz-Stegun 7.1.26 on erfc
// (absolute error < 2e-7).

typealias F8 = SIMD8<Float>

enum FastMath {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> F8 {
        UnsafeRawPointer(p).loadUnaligned(as: F8.self)
    }

    @inline(__always) static func store(_ v: F8, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: F8.self)
    }

    /// e^x for 8 lanes (inputs below -87.3 give ~1e-38, NaN stays NaN). Rounding uses the
    /// 1.5 * 2^23 trick and plain lane arithmetic: the generic SIMD `rounded` and Int32
    /// conversions are scalar loops and many times slower.
    @inline(__always) static func exp(_ x0: F8) -> F8 {
        // Clamp with masks: the generic pointwiseMin/Max are not inlined (a call per vector).
        var x = x0.replacing(with: 88.7, where: x0 .> 88.7)
        x = x.replacing(with: -87.3, where: x .< -87.3)
        let magic = F8(repeating: 12582912.0)
        let tt = x * 1.442695040888963 + magic
        let n = tt - magic
        var r = x - n * 0.693359375
        r = r + n * 2.12194440e-4
        var p = F8(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        p = p * (r * r) + r + 1
        let ni = unsafeBitCast(tt, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((ni &+ 127) &<< 23, to: F8.self)
        return (p * scale).replacing(with: x0, where: x0 .!= x0)
    }

    /// exp for one value (same polynomial, for tails).
    @inline(__always) static func exp1(_ x: Float) -> Float {
        exp(F8(repeating: x))[0]
    }

    /// Phi(x), the standard normal CDF, for 8 lanes.
    @inline(__always) static func phi(_ x: F8) -> F8 {
        let z = x.replacing(with: -x, where: x .< 0) * 0.7071067811865476 // |x| / sqrt 2
        let t = 1 / (1 + 0.3275911 * z)
        var p = F8(repeating: 1.061405429)
        p = p * t - 1.453152027
        p = p * t + 1.421413741
        p = p * t - 0.284496736
        p = p * t + 0.254829592
        let half = 0.5 * p * t * exp(-(z * z)) // 0.5 erfc(|x| / sqrt 2) = Phi(-|x|)
        return half.replacing(with: 1 - half, where: x .>= 0)
    }

    /// Applies `f` to n floats in chunks of 8 (the tail through a zero-padded lane vector).
    @inline(__always) static func map(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int, _ f: (F8) -> F8) {
        var i = 0
        while i + 8 <= n {
            store(f(load(src + i)), dst + i)
            i += 8
        }
        if i < n {
            var v = F8()
            for k in 0..<(n - i) { v[k] = src[i + k] }
            let r = f(v)
            for k in 0..<(n - i) { dst[i + k] = r[k] }
        }
    }

    /// Applies `f` lane-wise to two inputs.
    @inline(__always) static func zip(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int,
                                      _ f: (F8, F8) -> F8) {
        var i = 0
        while i + 8 <= n {
            store(f(load(a + i), load(b + i)), dst + i)
            i += 8
        }
        if i < n {
            var va = F8(), vb = F8()
            for k in 0..<(n - i) { va[k] = a[i + k]; vb[k] = b[i + k] }
            let r = f(va, vb)
            for k in 0..<(n - i) { dst[i + k] = r[k] }
        }
    }
}
