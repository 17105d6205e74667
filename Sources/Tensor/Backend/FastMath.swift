// SIMD8 load/store and lane-wise map/zip helpers for the Swift kernels. (exp, GELU and softmax
// live in CKernels/elementwise.c, compiled for AVX-512.)

typealias F8 = SIMD8<Float>

enum FastMath {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> F8 {
        UnsafeRawPointer(p).loadUnaligned(as: F8.self)
    }

    @inline(__always) static func store(_ v: F8, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: F8.self)
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
