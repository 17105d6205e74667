// Attention at precision bf16 with its products on the AVX512-BF16 kernel (attention512.c's
// loop and the Swift backward, CKernels/bf16gemm.c): forward and backward against a plain float64
// loop on bf16-rounded operands (q, k, v, P, dO and dS rounded as the precision contract says,
// fp32 accumulation in the kernel), and against the portable bf16 path (the same rounded operands
// through the fp32 small-product kernel) up to summation order; skipped without AVX512-BF16.
import CKernels
import Foundation
import XCTest
@testable import Engine
@testable import Tensor

final class BF16AttentionTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(Backend.current.bf16, "the CPU has no AVX512-BF16 (or ADV_BF16=0): attention's bf16 products use fp32 FMAs")
    }

    func r(_ x: Float) -> Double { Double(Precision.bf16.round(x)) }

    /// One head in float64: q (T, D), k (S, D), v (S, Dv), bias (T, S) or nil, g (T, Dv) the output
    /// gradient -> out, dq, dk, dv, dS, with every product's operands rounded to bf16 (P and dS
    /// from their fp32 values, as the engine rounds them).
    func reference(q: [Float], k: [Float], v: [Float], bias: [Float]?, g: [Float], t: Int, s: Int, d: Int, dv: Int,
                   scale: Double) -> (out: [Double], dq: [Double], dk: [Double], dv: [Double], ds: [Double]) {
        var p = [Double](repeating: 0, count: t * s)
        for i in 0..<t {
            var row = [Double](repeating: 0, count: s)
            for j in 0..<s {
                var acc = 0.0
                for c in 0..<d { acc += r(q[i * d + c]) * r(k[j * d + c]) }
                row[j] = scale * acc + Double(bias?[i * s + j] ?? 0)
            }
            let mx = row.max()!
            let e = row.map { Foundation.exp($0 - mx) }, z = e.reduce(0, +)
            for j in 0..<s { p[i * s + j] = e[j] / z }
        }
        let rp = p.map { r(Float($0)) }
        var out = [Double](repeating: 0, count: t * dv), gv = [Double](repeating: 0, count: s * dv)
        var ds = [Double](repeating: 0, count: t * s)
        for i in 0..<t {
            for c in 0..<dv { for j in 0..<s { out[i * dv + c] += rp[i * s + j] * r(v[j * dv + c]) } }
            var dp = [Double](repeating: 0, count: s)
            for j in 0..<s { for c in 0..<dv { dp[j] += r(g[i * dv + c]) * r(v[j * dv + c]) } }
            var dot = 0.0
            for j in 0..<s { dot += dp[j] * p[i * s + j] }
            for j in 0..<s { ds[i * s + j] = p[i * s + j] * (dp[j] - dot) }
        }
        for j in 0..<s { for c in 0..<dv { for i in 0..<t { gv[j * dv + c] += rp[i * s + j] * r(g[i * dv + c]) } } }
        let rds = ds.map { r(Float($0)) }
        var gq = [Double](repeating: 0, count: t * d), gk = [Double](repeating: 0, count: s * d)
        for i in 0..<t { for c in 0..<d { for j in 0..<s { gq[i * d + c] += scale * rds[i * s + j] * r(k[j * d + c]) } } }
        for j in 0..<s { for c in 0..<d { for i in 0..<t { gk[j * d + c] += scale * rds[i * s + j] * r(q[i * d + c]) } } }
        return (out, gq, gk, gv, ds)
    }

    /// Packed attention (ViT and Swin blocks) with and without a window bias, at Swin's and DeiT's
    /// head shapes and an odd one: output, qkv's gradient and the bias's gradient against the
    /// float64 loop; the no-grad output (the C loop with a scratch) equals the kept one bit for bit.
    /// Tolerance: the kernel's fp32 sums in another order than float64's can flip the bf16 rounding
    /// of a probability or a score gradient (2^-8 of one term).
    func testPackedAttentionMatchesTheRoundedOperandLoop() throws {
        let rng = RNG(seed: 31)
        for (nb, h, t, d, hasBias) in [(2, 3, 49, 32, true), (1, 2, 197, 64, false), (2, 2, 9, 5, true)] {
            let c = h * d, scale = 1 / Float(d).squareRoot()
            let qkv = Tensor.randn([nb, t, 3 * c], rng: rng), g = Tensor.randn([nb, t, c], rng: rng)
            let bias = hasBias ? Tensor.randn([1, h, t, t], rng: rng) : nil
            let free = try Autograd.noGrad { try Tensor.attentionPacked(qkv: qkv, heads: h, bias: bias, scale: scale, precision: .bf16) }
            qkv.requiresGrad = true
            bias?.requiresGrad = true
            let o = try Tensor.attentionPacked(qkv: qkv, heads: h, bias: bias, scale: scale, precision: .bf16)
            try o.mul(g).sum().backward()
            XCTAssertEqual(free.toArray(), o.toArray(), "no-grad output T \(t)")
            let x = qkv.toArray(), gg = g.toArray(), bb = bias?.toArray()
            var out = [Double](repeating: 0, count: nb * t * c), gx = [Double](repeating: 0, count: nb * t * 3 * c)
            var gb = [Double](repeating: 0, count: h * t * t)
            for b in 0..<nb {
                for hh in 0..<h {
                    func cols(_ src: [Float], _ base: Int, _ ld: Int) -> [Float] {
                        (0..<t).flatMap { i in (0..<d).map { src[b * t * ld + i * ld + base + hh * d + $0] } }
                    }
                    let ref = reference(q: cols(x, 0, 3 * c), k: cols(x, c, 3 * c), v: cols(x, 2 * c, 3 * c),
                                        bias: bb.map { Array($0[(hh * t * t)..<((hh + 1) * t * t)]) }, g: cols(gg, 0, c),
                                        t: t, s: t, d: d, dv: d, scale: Double(scale))
                    for i in 0..<t {
                        for e in 0..<d {
                            out[b * t * c + i * c + hh * d + e] = ref.out[i * d + e]
                            let row = b * t * 3 * c + i * 3 * c + hh * d + e
                            gx[row] = ref.dq[i * d + e]
                            gx[row + c] = ref.dk[i * d + e]
                            gx[row + 2 * c] = ref.dv[i * d + e]
                        }
                    }
                    for i in 0..<(t * t) { gb[hh * t * t + i] += r(Float(ref.ds[i])) }
                }
            }
            assertClose(o.toArray(), out, "output T \(t) D \(d)", tol: 4e-3)
            assertClose(qkv.grad!.toArray(), gx, "qkv gradient T \(t) D \(d)", tol: 4e-3)
            if let bias = bias { assertClose(bias.grad!.toArray(), gb, "bias gradient T \(t)", tol: 1e-2) }
        }
    }

    /// Heads under 32 queries or keys run backward on the fp32 kernels over rounded copies
    /// (faster there); 32 and up take the bf16 kernel.
    func testSmallHeadsRunBackwardOnTheFP32Kernels() {
        XCTAssertFalse(Tensor.attentionBackwardOnBF16Kernel(t: 16, s: 16))
        XCTAssertFalse(Tensor.attentionBackwardOnBF16Kernel(t: 49, s: 31))
        XCTAssertTrue(Tensor.attentionBackwardOnBF16Kernel(t: 32, s: 49))
    }

    /// Unpacked attention (S != T, Dv != D, a bias broadcast along the queries: row stride 0) at
    /// bf16 agrees with the portable path (kernel switched off: rounded operands on fp32 FMAs) up to
    /// summation order, forward and backward, and the switch really changes the path.
    func testAttentionAgreesWithThePortableBF16Path() throws {
        let rng = RNG(seed: 32)
        let (b, h, t, s, d, dv) = (2, 3, 33, 49, 32, 20)
        let q = Tensor.randn([b, h, t, d], rng: rng), k = Tensor.randn([b, h, s, d], rng: rng), v = Tensor.randn([b, h, s, dv], rng: rng)
        let g = Tensor.randn([b, h, t, dv], rng: rng)
        for bias in [Tensor.randn([1, h, 1, s], rng: rng), Tensor.randn([b, h, t, s], rng: rng), nil] {
            func run(_ fast: Bool) throws -> [[Float]] {
                return try Backend.with({ $0.bf16 = fast }) {
                    for x in [q, k, v] { x.requiresGrad = true; x.grad = nil }
                    defer { for x in [q, k, v] { x.requiresGrad = false; x.grad = nil } }
                    let o = try Tensor.attention(q: q, k: k, v: v, bias: bias, scale: 0.3, precision: .bf16)
                    try o.mul(g).sum().backward()
                    return [o.toArray(), q.grad!.toArray(), k.grad!.toArray(), v.grad!.toArray()]
                }
            }
            let fast = try run(true), slow = try run(false)
            var differs = false
            for (i, (x, y)) in zip(fast, slow).enumerated() {
                assertClose(x, y.map(Double.init), "bias \(bias?.shape ?? []) output \(i)", tol: 1e-2)
                if x != y { differs = true }
            }
            XCTAssertTrue(differs, "the switch did not change the products' path")
        }
    }
}
