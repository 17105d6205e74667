// The AVX512-BF16 product (CKernels/bf16gemm.c) against float64 products of the bf16-rounded
// inputs, and against the portable bf16 path (rounded fp32 through sgemm) inside the engine's
// ops; skipped on a CPU without AVX512-BF16.
import CKernels
import XCTest
@testable import Engine
@testable import Tensor

final class BF16KernelTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(Backend.current.bf16, "the CPU has no AVX512-BF16 (or ADV_BF16=0): bf16 products use sgemm")
    }

    func bf16(_ x: [Float]) -> [Float] { x.map { $0.isNaN ? $0 : Precision.bf16.round($0) } }

    /// Every transpose combination at sizes around the 6-row and 16/64-column tiles, odd K (a zero
    /// pad in the last pair) and K across the 384-wide blocks, with beta 0, 1 and 0.5: the result
    /// is the float64 product of the inputs rounded to bf16 (the kernel rounds unrounded inputs
    /// itself, to nearest even), and nothing past a row of C is written. 700 x 70 x 770: A packed
    /// in three chunks of rows (336, 336, 28) in each of three K blocks (the last of one pair).
    func testProductsMatchFloat64OfTheRoundedInputs() {
        let sizes: [(Int, Int, Int)] = [(1, 1, 1), (5, 17, 3), (6, 16, 32), (7, 65, 9), (13, 64, 385), (49, 49, 32),
                                        (20, 130, 770), (97, 3, 64), (700, 70, 770)]
        checkProducts(sizes: sizes, betas: [0, 1, 0.5], rng: RNG(seed: 21), low: -1, high: 1, tol: 2e-6, prepare: bf16) {
            tA, tB, m, n, k, a, lda, b, ldb, beta, c, ldc in
            adv_sgemm_bf16(tA ? 1 : 0, tB ? 1 : 0, m, n, k, 0.75, a, lda, b, ldb, beta, &c, ldc)
        }
    }

    /// Rounding on the way in is to nearest, ties to even, like Precision.bf16; NaN and infinity
    /// propagate as in fp32.
    func testRoundsToNearestEvenAndPropagatesNaN() {
        // 1 + 2^-8 is a tie between 1 and 1 + 2^-7: even gives 1. 1 + 3 * 2^-8 rounds up to 1 + 2^-6.
        let a: [Float] = [1 + 0x1p-8, 1 + 3 * 0x1p-8, 1.0, 1.0]
        let b: [Float] = [1, 1, 1, 1]
        var c: [Float] = [0, 0, 0, 0]
        // C (4 x 1) = A (4 x 1) B (1 x 1)
        XCTAssertEqual(adv_sgemm_bf16(0, 0, 4, 1, 1, 1, a, 1, b, 1, 0, &c, 1), 1)
        XCTAssertEqual(c[0], 1)
        XCTAssertEqual(c[1], 1 + 0x1p-6)
        let special: [Float] = [.nan, .infinity, 2, -.infinity]
        XCTAssertEqual(adv_sgemm_bf16(0, 0, 4, 1, 1, 1, special, 1, b, 1, 0, &c, 1), 1)
        XCTAssertTrue(c[0].isNaN)
        XCTAssertEqual(c[1], .infinity)
        XCTAssertEqual(c[2], 2)
        XCTAssertEqual(c[3], -.infinity)
    }

    func testSwitchedOffOrEmptyItDeclines() {
        var c: [Float] = [7]
        let one: [Float] = [1]
        XCTAssertEqual(adv_sgemm_bf16(0, 0, 1, 1, 0, 1, one, 1, one, 1, 0, &c, 1), 0)
        Backend.with({ $0.bf16 = false }) {
            XCTAssertFalse(Backend.current.bf16)
            XCTAssertEqual(adv_sgemm_bf16(0, 0, 1, 1, 1, 1, one, 1, one, 1, 0, &c, 1), 0, "switched off")
        }
        XCTAssertEqual(c, [7])
        XCTAssertTrue(Backend.current.bf16, "restored")
    }

    /// linear, matmul and conv2d (im2col and small-map paths) at precision bf16, forward and
    /// backward, agree with the portable bf16 path (the same rounded inputs through fp32 sgemm) up
    /// to summation order, and the switch really changes the path (the bits differ somewhere).
    func testOpsAgreeWithThePortableBF16Path() throws {
        let rng = RNG(seed: 22)
        let x = Tensor.randn([64, 96], rng: rng), w = Tensor.randn([384, 96], rng: rng), bias = Tensor.randn([384], rng: rng)
        let a = Tensor.randn([3, 40, 50], rng: rng), b = Tensor.randn([50, 30], rng: rng)
        let img = Tensor.randn([8, 16, 12, 12], rng: rng), k3 = Tensor.randn([32, 16, 3, 3], rng: rng)
        let small = Tensor.randn([8, 32, 2, 2], rng: rng), ks = Tensor.randn([64, 32, 3, 3], rng: rng)
        let inputs = [x, w, bias, a, b, img, k3, small, ks]
        func run(_ fast: Bool) throws -> [[Float]] {
            return try Backend.with({ $0.bf16 = fast }) {
                for t in inputs { t.requiresGrad = true; t.grad = nil }
                let y1 = try Tensor.linear(x, weight: w, bias: bias, precision: .bf16)
                let y2 = try Tensor.matmul(a, b, precision: .bf16)
                let y3 = try Tensor.conv2d(img, weight: k3, bias: nil, stride: (1, 1), padding: (1, 1), groups: 1, precision: .bf16)
                let y4 = try Tensor.conv2d(small, weight: ks, bias: nil, stride: (1, 1), padding: (1, 1), groups: 1, precision: .bf16)
                let loss = try y1.mul(y1).sum().add(y2.mul(y2).sum()).add(y3.mul(y3).sum()).add(y4.mul(y4).sum())
                try loss.backward()
                return [y1, y2, y3, y4].map { $0.toArray() } + inputs.map { $0.grad!.toArray() }
            }
        }
        let fast = try run(true), slow = try run(false)
        var differs = false
        for (u, v) in zip(fast, slow) {
            var worst: Float = 0
            for (p, q) in zip(u, v) {
                worst = Swift.max(worst, abs(p - q) / (1 + abs(q)))
                if p != q { differs = true }
            }
            XCTAssertLessThan(worst, 1e-4)
        }
        XCTAssertTrue(differs, "the switch did not change the products' path")
    }
    /// With the kernel on, linear and conv2d leave the rounding of their inputs to it: the results
    /// are bit for bit those of inputs rounded by Precision.bf16 first (no denormals here).
    func testKernelRoundingEqualsRoundingFirst() throws {
        let rng = RNG(seed: 23)
        let x = Tensor.randn([50, 70], rng: rng), w = Tensor.randn([30, 70], rng: rng)
        let img = Tensor.randn([2, 5, 9, 9], rng: rng), k = Tensor.randn([6, 5, 3, 3], rng: rng)
        let r = Precision.bf16
        let y1 = try Tensor.linear(x, weight: w, bias: nil, precision: .bf16)
        let y2 = try Tensor.linear(r.rounded(x), weight: r.rounded(w), bias: nil, precision: .bf16)
        XCTAssertEqual(y1.toArray(), y2.toArray())
        let c1 = try Tensor.conv2d(img, weight: k, bias: nil, stride: (1, 1), padding: (1, 1), groups: 1, precision: .bf16)
        let c2 = try Tensor.conv2d(r.rounded(img), weight: r.rounded(k), bias: nil, stride: (1, 1), padding: (1, 1), groups: 1,
                                   precision: .bf16)
        XCTAssertEqual(c1.toArray(), c2.toArray())
        // and not those of the unrounded inputs in fp32
        let y3 = try Tensor.linear(x, weight: w, bias: nil, precision: .fp32)
        XCTAssertNotEqual(y1.toArray(), y3.toArray())
    }
}
