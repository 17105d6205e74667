// Central finite differences in float64 against the autograd gradient.
import XCTest
@testable import Engine
@testable import Tensor

/// A random tensor from a fixed generator (values in [-1, 1) + offset).
func rnd(_ shape: [Int], seed: UInt64, offset: Float = 0, requiresGrad: Bool = true) -> Tensor {
    let t = Tensor.uniform(shape, low: -1 + offset, high: 1 + offset, rng: RNG(seed: seed))
    t.requiresGrad = requiresGrad
    return t
}

/// Checks d(sum(f(inputs) * R))/d(inputs) for a fixed random R against central differences
/// computed in float64 (the op itself runs in float32).
/// - Parameters:
///   - inputs: leaves; those with requiresGrad are checked.
///   - h: the finite-difference step.
///   - atol, rtol: tolerance |analytic - numeric| <= atol + rtol * |numeric|.
func gradCheck(_ name: String, _ inputs: [Tensor], h: Float = 1e-3, atol: Double = 3e-3, rtol: Double = 3e-2,
               file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) throws -> Tensor) {
    do {
        let out0 = try Autograd.noGrad { try f(inputs) }
        let r = Tensor.uniform(out0.shape, low: -1, high: 1, rng: RNG(seed: 99))
        func loss() throws -> Double {
            let o = try Autograd.noGrad { try f(inputs) }
            var s = 0.0
            for i in 0..<o.count { s += Double(o.ptr[i]) * Double(r.ptr[i]) }
            return s
        }
        for t in inputs { t.grad = nil }
        let out = try f(inputs)
        XCTAssertEqual(out.shape, out0.shape, "\(name): shape changed between calls", file: file, line: line)
        try out.backward(seed: r)
        for (ti, t) in inputs.enumerated() where t.requiresGrad {
            guard let g = t.grad else {
                XCTFail("\(name): input \(ti) got no gradient", file: file, line: line)
                continue
            }
            XCTAssertEqual(g.shape, t.shape, "\(name): grad shape", file: file, line: line)
            var worst = 0.0, worstIdx = -1, worstA = 0.0, worstN = 0.0
            for i in 0..<t.count {
                let saved = t.ptr[i]
                t.ptr[i] = saved + h
                let lp = try loss()
                t.ptr[i] = saved - h
                let lm = try loss()
                t.ptr[i] = saved
                let hp = Double(saved + h) - Double(saved - h)
                let num = (lp - lm) / hp
                let ana = Double(g.ptr[i])
                let excess = Swift.abs(ana - num) - (atol + rtol * Swift.abs(num))
                if excess > worst { worst = excess; worstIdx = i; worstA = ana; worstN = num }
            }
            XCTAssertTrue(worstIdx < 0, "\(name): input \(ti) \(t.shape) element \(worstIdx): analytic \(worstA) vs numeric \(worstN)",
                          file: file, line: line)
        }
    } catch {
        XCTFail("\(name): threw \(error)", file: file, line: line)
    }
}

/// Float32 results against a float64 reference: the worst of |a - b| / (1 + |b|) must be <= tol.
func assertClose(_ a: [Float], _ b: [Double], _ what: String, tol: Double = 1e-4, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): count", line: line)
    var worst = 0.0, nanMismatches = 0
    for (u, v) in zip(a, b) {
        // NaN must meet NaN (a masked-out attention row, say); a NaN on one side only is an error.
        if u.isNaN || v.isNaN { if u.isNaN != v.isNaN { nanMismatches += 1 }; continue }
        worst = max(worst, abs(Double(u) - v) / (1 + abs(v)))
    }
    XCTAssertEqual(nanMismatches, 0, "\(what): NaN on one side only", line: line)
    XCTAssertLessThanOrEqual(worst, tol, "\(what): worst relative error \(worst)", line: line)
}

/// op(A) op(B) in float64 for row-major operands with leading dimensions: element (i, j) of the
/// (m, n) product, op(A)(i, p) = a[p * lda + i] when transposed else a[i * lda + p], and likewise
/// op(B)(p, j) = b[j * ldb + p] or b[p * ldb + j].
func naiveProduct(_ tA: Bool, _ tB: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: [Float], lda: Int, _ b: [Float], ldb: Int) -> [Double] {
    var out = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var s: Double = 0
            for p in 0..<k {
                let av = tA ? a[p * lda + i] : a[i * lda + p]
                let bv = tB ? b[j * ldb + p] : b[p * ldb + j]
                s += Double(av) * Double(bv)
            }
            out[i * n + j] = s
        }
    }
    return out
}

/// Values uniform in [low, high) in a rows x cols matrix with leading dimension ld, NaN in the
/// padding after each row (so a kernel that reads or writes past a row shows it).
func paddedMatrix(_ rows: Int, _ cols: Int, ld: Int, _ rng: RNG, low: Float = -0.5, high: Float = 0.5) -> [Float] {
    var m = [Float](repeating: .nan, count: rows * ld)
    for i in 0..<rows { for j in 0..<cols { m[i * ld + j] = low + (high - low) * rng.uniform() } }
    return m
}

/// Runs `product` (C = 0.75 op(A) op(B) + beta C, row-major, padded leading dimensions) for every
/// size, transpose pair and beta, and checks C against the float64 product of `prepare(A)` and
/// `prepare(B)` within tol * sqrt(K) + 1e-6, and that nothing past a row of C was written.
/// `product` returns whether the kernel took the product (1) or declined (0).
func checkProducts(sizes: [(Int, Int, Int)], betas: [Float], rng: RNG, low: Float = -0.5, high: Float = 0.5, tol: Double,
                   prepare: ([Float]) -> [Float] = { $0 }, file: StaticString = #filePath, line: UInt = #line,
                   _ product: (_ tA: Bool, _ tB: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: [Float], _ lda: Int,
                               _ b: [Float], _ ldb: Int, _ beta: Float, _ c: inout [Float], _ ldc: Int) -> Int32) {
    for (m, n, k) in sizes {
        for tA in [false, true] {
            for tB in [false, true] {
                for beta in betas {
                    let lda = (tA ? m : k) + 3, ldb = (tB ? k : n) + 2, ldc = n + 5
                    let a = paddedMatrix(tA ? k : m, tA ? m : k, ld: lda, rng, low: low, high: high)
                    let b = paddedMatrix(tB ? n : k, tB ? k : n, ld: ldb, rng, low: low, high: high)
                    let c0 = paddedMatrix(m, n, ld: ldc, rng, low: low, high: high)
                    var c = c0
                    let tag = "m\(m) n\(n) k\(k) tA \(tA) tB \(tB) beta \(beta)"
                    XCTAssertEqual(product(tA, tB, m, n, k, a, lda, b, ldb, beta, &c, ldc), 1, tag, file: file, line: line)
                    let ab = naiveProduct(tA, tB, m, n, k, prepare(a), lda: lda, prepare(b), ldb: ldb)
                    for i in 0..<m {
                        for j in 0..<n {
                            let want = 0.75 * ab[i * n + j] + Double(beta) * Double(c0[i * ldc + j])
                            XCTAssertEqual(Double(c[i * ldc + j]), want, accuracy: tol * Double(k).squareRoot() + 1e-6, tag,
                                           file: file, line: line)
                        }
                        for j in n..<ldc {
                            XCTAssertTrue(c[i * ldc + j].isNaN, "\(tag): wrote past column \(n)", file: file, line: line)
                        }
                    }
                }
            }
        }
    }
}
