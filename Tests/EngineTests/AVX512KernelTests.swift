// The AVX-512 intrinsic kernels (smallgemm.c, softmax512.c, depthwise512.c) against float64 references and
// against the portable/OpenBLAS paths they replace; skipped on a CPU without AVX-512.
import CKernels
import XCTest
@testable import Engine
@testable import Tensor

final class AVX512KernelTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(Backend.current.avx512, "the CPU has no AVX-512 (or ADV_AVX512=0): the portable paths run")
    }

    func testSmallProductsMatchFloat64AtEveryTileEdge() {
        // Sizes around the 6-row and 16/64-column tile edges, attention's shapes, and 1.
        let sizes: [(Int, Int, Int)] = [(1, 1, 1), (5, 17, 3), (6, 16, 32), (7, 33, 9), (13, 64, 16), (16, 16, 32),
                                        (49, 49, 32), (65, 65, 64), (12, 97, 5), (30, 130, 70)]
        checkProducts(sizes: sizes, betas: [0, 1], rng: RNG(seed: 11), tol: 1e-5) { tA, tB, m, n, k, a, lda, b, ldb, beta, c, ldc in
            adv_sgemm_small(tA ? 1 : 0, tB ? 1 : 0, m, n, k, 0.75, a, lda, b, ldb, beta, &c, ldc)
        }
    }

    /// C = alpha op(A) op(B) + D with D apart from C: a full D (own row stride), one row added to
    /// every row (ldd 0), and none; through the tiles and the dot-product columns (N = 49, 33).
    func testSmallProductsAddAnAddendReadInPlace() {
        let rng = RNG(seed: 14)
        for (m, n, k) in [(49, 49, 32), (7, 33, 9), (13, 64, 16), (5, 18, 40)] {
            for tB in [false, true] {
                for ldd in [n + 3, 0, -1] {
                    let lda = k + 1, ldb = (tB ? k : n) + 2, ldc = n + 5
                    let a = paddedMatrix(m, k, ld: lda, rng)
                    let b = paddedMatrix(tB ? n : k, tB ? k : n, ld: ldb, rng)
                    let dm = paddedMatrix(m, n, ld: Swift.max(ldd, n), rng)
                    var c = [Float](repeating: .nan, count: m * ldc)
                    let done = dm.withUnsafeBufferPointer { pd in
                        adv_sgemm_small_add(0, tB ? 1 : 0, m, n, k, 0.5, a, lda, b, ldb, ldd < 0 ? nil : pd.baseAddress!,
                                            Swift.max(ldd, 0), &c, ldc)
                    }
                    XCTAssertEqual(done, 1)
                    let ab = naiveProduct(false, tB, m, n, k, a, lda: lda, b, ldb: ldb)
                    for i in 0..<m {
                        for j in 0..<n {
                            let add = ldd < 0 ? 0 : Double(dm[i * Swift.max(ldd, 0) + j])
                            XCTAssertEqual(Double(c[i * ldc + j]), 0.5 * ab[i * n + j] + add, accuracy: 1e-5 * Double(k).squareRoot() + 1e-6,
                                           "m\(m) n\(n) k\(k) tB \(tB) ldd \(ldd) at (\(i), \(j))")
                        }
                        for j in n..<ldc { XCTAssertTrue(c[i * ldc + j].isNaN, "wrote past column \(n)") }
                    }
                }
            }
        }
    }

    func testSmallProductsDeclineWhatTheyDoNotHandle() {
        var c: [Float] = [7]
        let one: [Float] = [1]
        // beta other than 0 or 1, and an empty inner dimension: OpenBLAS's job; C untouched.
        XCTAssertEqual(adv_sgemm_small(0, 0, 1, 1, 1, 1, one, 1, one, 1, 0.5, &c, 1), 0)
        XCTAssertEqual(adv_sgemm_small(0, 0, 1, 1, 0, 1, one, 1, one, 1, 0, &c, 1), 0)
        XCTAssertEqual(c, [7])
        Backend.with({ $0.avx512 = false }) {
            XCTAssertFalse(Backend.current.avx512)
            XCTAssertEqual(adv_sgemm_small(0, 0, 1, 1, 1, 1, one, 1, one, 1, 0, &c, 1), 0, "switched off")
        }
        XCTAssertTrue(Backend.current.avx512, "restored")
    }

    /// Rows through adv_softmax_rows (forward) and its backward, with the kernels on or off.
    func softmax(_ x: [Float], _ g: [Float], rows: Int, n: Int, avx512: Bool) -> ([Float], [Float]) {
        return Backend.with({ $0.avx512 = avx512 }) {
            var y = [Float](repeating: 0, count: x.count), dx = y
            adv_softmax_rows(x, &y, rows, n)
            adv_softmax_rows_backward(g, y, &dx, rows, n)
            return (y, dx)
        }
    }

    func testShortRowSoftmaxMatchesThePortableKernel() {
        let rng = RNG(seed: 12)
        // 2, 3, 4, 18, 20, 49: tails that four rows share in one vector (with no full vector before them
        // for n < 16); 5, 31: tails too long to share.
        for n in [1, 2, 3, 4, 5, 16, 17, 18, 20, 31, 49, 65, 197] {
            let rows = 7
            var x = (0..<(rows * n)).map { _ in (rng.uniform() - 0.5) * 20 }
            // A row with a NaN, one with +inf, one with a huge negative value (underflow to 0).
            x[0] = .nan
            x[n] = .infinity
            x[2 * n] = -1e30
            let g = (0..<(rows * n)).map { _ in rng.uniform() - 0.5 }
            let (y1, d1) = softmax(x, g, rows: rows, n: n, avx512: true)
            let (y0, d0) = softmax(x, g, rows: rows, n: n, avx512: false)
            for i in 0..<(rows * n) {
                if y0[i].isNaN { XCTAssertTrue(y1[i].isNaN, "n \(n) element \(i)"); continue }
                XCTAssertEqual(y1[i], y0[i], accuracy: 2e-7 + 2e-6 * abs(y0[i]), "n \(n) element \(i)")
                if !d0[i].isNaN { XCTAssertEqual(d1[i], d0[i], accuracy: 1e-6, "n \(n) backward \(i)") }
            }
            // Rows without NaN or inf sum to 1.
            for r in 2..<rows {
                let s = (0..<n).reduce(0.0) { $0 + Double(y1[r * n + $1]) }
                XCTAssertEqual(s, 1, accuracy: 1e-5, "n \(n) row \(r)")
            }
        }
    }

    func testSoftmaxInPlaceEqualsOutOfPlace() {
        // Attention runs both directions in place; the kernels keep each row's tail in registers
        // instead of reloading it after the row's stores. Bit for bit the same results.
        let rng = RNG(seed: 14)
        for n in [1, 2, 3, 4, 5, 16, 17, 19, 20, 31, 49, 65, 197] {
            for rows in [1, 3, 4, 9] {
                let x = (0..<(rows * n)).map { _ in (rng.uniform() - 0.5) * 20 }
                let g = (0..<(rows * n)).map { _ in rng.uniform() - 0.5 }
                var y = [Float](repeating: 0, count: x.count), dx = y
                adv_softmax_rows(x, &y, rows, n)
                adv_softmax_rows_backward(g, y, &dx, rows, n)
                var inPlace = x
                inPlace.withUnsafeMutableBufferPointer { adv_softmax_rows($0.baseAddress, $0.baseAddress, rows, n) }
                XCTAssertEqual(inPlace, y, "forward n \(n) rows \(rows)")
                var gInPlace = g
                gInPlace.withUnsafeMutableBufferPointer { adv_softmax_rows_backward($0.baseAddress, y, $0.baseAddress, rows, n) }
                XCTAssertEqual(gInPlace, dx, "backward n \(n) rows \(rows)")
            }
        }
    }

    func testAttentionOnEveryBiasLayoutAgreesWithTheLoopPath() throws {
        // attention512.c's loop over heads against the Swift loop on OpenBLAS and the portable
        // softmax: biases per sequence (B, H, T, S), per sequence shared by the heads (B, 1, T, S),
        // per head with one row for all queries (1, H, 1, S: row stride 0), shared (1, 1, T, S),
        // a -inf mask with a fully masked row, none; S != T and Dv != D; tiles of one to four
        // vectors; fp32 and bf16; with and without a backward pass (the kept probabilities must be
        // the normalized ones). bf16 is looser: a one-ulp difference in P can flip a rounding.
        let rng = RNG(seed: 15)
        for (b, h, t, s, d, dv) in [(3, 2, 11, 49, 8, 5), (2, 3, 49, 49, 32, 32), (2, 1, 20, 70, 64, 64)] {
            let q = Tensor.randn([b, h, t, d], rng: rng), k = Tensor.randn([b, h, s, d], rng: rng), v = Tensor.randn([b, h, s, dv], rng: rng)
            let g = Tensor.randn([b, h, t, dv], rng: rng)
            var mask = [Float](repeating: 0, count: t * s)
            for i in 0..<(t * s) where i % 3 == 0 || i / s == 1 { mask[i] = -.infinity }
            let biases: [Tensor?] = [Tensor.randn([b, h, t, s], rng: rng), Tensor.randn([b, 1, t, s], rng: rng),
                                     Tensor.randn([1, h, 1, s], rng: rng), Tensor.randn([1, 1, t, s], rng: rng),
                                     try Tensor(shape: [1, 1, t, s], data: mask), nil]
            for precision in [Precision.fp32, .bf16] {
                for (bi, bias) in biases.enumerated() {
                    func run(_ on: Bool) throws -> [[Float]] {
                        return try Backend.with({ $0.avx512 = on }) {
                            let free = try Autograd.noGrad { try Tensor.attention(q: q, k: k, v: v, bias: bias, scale: 0.4, precision: precision) }
                            for x in [q, k, v] { x.requiresGrad = true; x.grad = nil }
                            defer { for x in [q, k, v] { x.requiresGrad = false; x.grad = nil } }
                            let o = try Tensor.attention(q: q, k: k, v: v, bias: bias, scale: 0.4, precision: precision)
                            let (fo, oo) = (free.toArray(), o.toArray())
                            XCTAssertTrue(zip(fo, oo).allSatisfy { $0.bitPattern == $1.bitPattern }, "no-grad output \(precision) bias \(bi) avx512 \(on)")
                            try o.mul(g).sum().backward()
                            return [oo, q.grad!.toArray(), k.grad!.toArray(), v.grad!.toArray()]
                        }
                    }
                    let fast = try run(true), slow = try run(false)
                    for (i, (x, y)) in zip(fast, slow).enumerated() {
                        assertClose(x, y.map(Double.init), "T \(t) S \(s) D \(d) \(precision) bias \(bi) output \(i)",
                                    tol: precision == .fp32 ? 1e-5 : 1e-2)
                    }
                }
            }
        }
    }

    func testAttentionForwardLoopRunsAndDeclinesWhenSwitchedOff() throws {
        // The C loop called directly: it takes the heads (returns 1) and writes what
        // Tensor.attention gives; switched off, it returns 0 and writes nothing.
        let rng = RNG(seed: 16)
        let (b, h, t, s, d) = (2, 3, 49, 49, 32)
        let q = Tensor.randn([b, h, t, d], rng: rng), k = Tensor.randn([b, h, s, d], rng: rng), v = Tensor.randn([b, h, s, d], rng: rng)
        let bias = Tensor.randn([1, h, t, s], rng: rng)
        let want = try Autograd.noGrad { try Tensor.attention(q: q, k: k, v: v, bias: bias, scale: 0.3, precision: .fp32) }
        var out = [Float](repeating: 7, count: b * h * t * d)
        var scratch = [Float](repeating: 0, count: 2 * t * s + t)
        func call() -> Int32 {
            out.withUnsafeMutableBufferPointer { o in
                scratch.withUnsafeMutableBufferPointer { sc in
                    var a = adv_attention_args(
                        heads: h, t: t, s: s, d: d, dv: d,
                        q: q.ptr, q_batch: h * t * d, q_head: t * d, ldq: d,
                        k: k.ptr, k_batch: h * s * d, k_head: s * d, ldk: d,
                        v: v.ptr, v_batch: h * s * d, v_head: s * d, ldv: d,
                        out: o.baseAddress, out_batch: h * t * d, out_head: t * d, ldo: d,
                        bias: bias.ptr, bias_groups: 1, bias_batch: 0, bias_head: t * s, ldbias: s,
                        scale: 0.3, probs: nil, rprobs: nil, round_bf16: 0, bf16_products: 0)
                    return adv_attention_forward(&a, 0, b * h, sc.baseAddress)
                }
            }
        }
        Backend.with({ $0.avx512 = false }) { XCTAssertEqual(call(), 0, "switched off") }
        XCTAssertEqual(out, [Float](repeating: 7, count: out.count), "nothing written when declined")
        XCTAssertEqual(call(), 1)
        XCTAssertEqual(out, want.toArray(), "Tensor.attention runs this loop")
    }

    func testAttentionAgreesWithTheOpenBLASPath() throws {
        // Packed (ViT/Swin) and unpacked attention, with and without a bias, forward and
        // backward: the AVX-512 products against OpenBLAS and the portable softmax.
        let rng = RNG(seed: 13)
        for (b, h, t, d, bias) in [(2, 3, 17, 8, false), (3, 2, 16, 32, true), (2, 2, 49, 20, true), (1, 1, 65, 64, false)] {
            let qkv = Tensor.randn([b, t, 3 * h * d], rng: rng)
            let q = Tensor.randn([b, h, t, d], rng: rng), k = Tensor.randn([b, h, t, d], rng: rng), v = Tensor.randn([b, h, t, d], rng: rng)
            // Swin's window biases: one per window group (G = B here), shared by the sequences.
            let bb = bias ? Tensor.randn([b, h, t, t], rng: rng) : nil
            let g = Tensor.randn([b, t, h * d], rng: rng), g4 = Tensor.randn([b, h, t, d], rng: rng)
            func run(_ on: Bool) throws -> [[Float]] {
                return try Backend.with({ $0.avx512 = on }) {
                    for x in [qkv, q, k, v] + (bb.map { [$0] } ?? []) { x.requiresGrad = true; x.grad = nil }
                    let o1 = try Tensor.attentionPacked(qkv: qkv, heads: h, bias: bb, scale: 0.3)
                    try o1.mul(g).sum().backward()
                    let o2 = try Tensor.attention(q: q, k: k, v: v, bias: bb, scale: 0.3)
                    try o2.mul(g4).sum().backward()
                    return [o1, o2, qkv.grad!, q.grad!, k.grad!, v.grad!].map { $0.toArray() } + (bb.map { [$0.grad!.toArray()] } ?? [])
                }
            }
            let fast = try run(true), slow = try run(false)
            for (i, (x, y)) in zip(fast, slow).enumerated() {
                XCTAssertEqual(x.count, y.count)
                let scale = y.map { abs($0) }.max() ?? 1
                for j in 0..<x.count { XCTAssertEqual(x[j], y[j], accuracy: 1e-5 * Swift.max(scale, 1), "shape \(b) \(h) \(t) \(d) output \(i)") }
            }
        }
    }
    /// Depthwise 7x7 (stride 1, padding 3) forward, input gradient and weight gradient against
    /// float64 loops, on maps around the kernel's tile edges: 8 and 14 rows (one tile), 9, 15 and 57
    /// (an overlapping last tile), widths 8 to 70 (one to four vectors, masked, two column blocks),
    /// and maps of at most 16 pixels.
    func testDepthwise7x7MatchesFloat64() throws {
        // ... and maps of at most 16 pixels, one vector per plane: 1x1, 2x2, 4x4, 3x5, 2x8, 4x3.
        let shapes: [(h: Int, w: Int)] = [(8, 8), (9, 13), (14, 14), (15, 16), (10, 20), (12, 40), (8, 56), (57, 56), (9, 70),
                                          (1, 1), (2, 2), (4, 4), (3, 5), (2, 8), (4, 3)]
        for (sh, (h, w)) in shapes.enumerated() {
            let n = 2, c = 3
            let x = Tensor.uniform([n, c, h, w], low: -1, high: 1, rng: RNG(seed: UInt64(40 + sh)))
            let k = Tensor.uniform([c, 1, 7, 7], low: -1, high: 1, rng: RNG(seed: UInt64(60 + sh)))
            let b = Tensor.uniform([c], low: -1, high: 1, rng: RNG(seed: UInt64(80 + sh)))
            let g = Tensor.uniform([n, c, h, w], low: -1, high: 1, rng: RNG(seed: UInt64(90 + sh)))
            x.requiresGrad = true
            k.requiresGrad = true
            let out = try Tensor.conv2d(x, weight: k, bias: b, stride: (1, 1), padding: (3, 3), groups: c)
            try out.backward(seed: g)
            let gx = try XCTUnwrap(x.grad), gk = try XCTUnwrap(k.grad)
            // float64: out = b + sum x[ih][iw] k[i][j]; dx[ih][iw] = sum g[oh][ow] k[i][j]; dk[i][j] = sum g x.
            var wantOut = [Double](repeating: 0, count: n * c * h * w), wantX = wantOut
            var wantK = [Double](repeating: 0, count: c * 49)
            for p in 0..<(n * c) {
                let ch = p % c
                for oh in 0..<h {
                    for ow in 0..<w {
                        let o = p * h * w + oh * w + ow
                        wantOut[o] = Double(b.ptr[ch])
                        for i in 0..<7 {
                            for j in 0..<7 {
                                let ih = oh + i - 3, iw = ow + j - 3
                                guard ih >= 0, ih < h, iw >= 0, iw < w else { continue }
                                let xi = p * h * w + ih * w + iw, kv = Double(k.ptr[ch * 49 + i * 7 + j])
                                wantOut[o] += Double(x.ptr[xi]) * kv
                                wantX[xi] += Double(g.ptr[o]) * kv
                                wantK[ch * 49 + i * 7 + j] += Double(g.ptr[o]) * Double(x.ptr[xi])
                            }
                        }
                    }
                }
            }
            let tag = "\(h)x\(w)"
            for i in 0..<out.count { XCTAssertEqual(Double(out.ptr[i]), wantOut[i], accuracy: 1e-4, "out \(tag) at \(i)") }
            for i in 0..<gx.count { XCTAssertEqual(Double(gx.ptr[i]), wantX[i], accuracy: 1e-4, "dx \(tag) at \(i)") }
            for i in 0..<gk.count {
                XCTAssertEqual(Double(gk.ptr[i]), wantK[i], accuracy: 1e-5 * Double(n * h * w) + 1e-4, "dk \(tag) at \(i)")
            }
        }
    }

    /// An inf in the input reaches only the weight-gradient taps that really multiply it: the
    /// kernel never multiplies a zero gradient (past the map's edge) by an input value.
    func testDepthwise7x7WeightGradientIgnoresInputsNoOutputSees() throws {
        let h = 9, w = 10
        let x = Tensor.uniform([1, 1, h, w], low: -1, high: 1, rng: RNG(seed: 31))
        let k = Tensor.uniform([1, 1, 7, 7], low: -1, high: 1, rng: RNG(seed: 32))
        x.ptr[4 * w + (w - 1)] = .infinity  // row 4, last column
        k.requiresGrad = true
        let out = try Tensor.conv2d(x, weight: k, bias: nil, stride: (1, 1), padding: (3, 3), groups: 1)
        try out.backward(seed: Tensor(shape: out.shape, repeating: 1))
        let gk = try XCTUnwrap(k.grad)
        // Column w - 1 is seen by output column ow = w + 2 - kx, which exists only for kx >= 3.
        for ky in 0..<7 {
            for kx in 0..<7 {
                let v = gk.ptr[ky * 7 + kx]
                let seen = kx >= 3 && (0..<h).contains(4 - ky + 3)
                if seen { XCTAssertFalse(v.isFinite, "tap (\(ky), \(kx)) sees the inf") } else {
                    XCTAssertTrue(v.isFinite, "tap (\(ky), \(kx)) never multiplies the inf, got \(v)")
                }
            }
        }
    }

    /// The AVX-512 7x7 kernels and the portable depthwise.c kernels give the same numbers (up to
    /// summation order) on a ConvNeXt-like map, and the switch really changes the path taken
    /// (the scratch-free portable path is the only one used for maps below 8 rows).
    func testDepthwise7x7AgreesWithThePortableKernel() throws {
        let x0 = Tensor.uniform([4, 8, 28, 28], low: -1, high: 1, rng: RNG(seed: 5))
        let k0 = Tensor.uniform([8, 1, 7, 7], low: -1, high: 1, rng: RNG(seed: 6))
        let b0 = Tensor.uniform([8], low: -1, high: 1, rng: RNG(seed: 7))
        func run(_ fast: Bool) throws -> (Tensor, Tensor, Tensor) {
            return try Backend.with({ $0.dw7 = fast }) {
                let x = x0.detached(), k = k0.detached()
                x.requiresGrad = true
                k.requiresGrad = true
                let out = try Tensor.conv2d(x, weight: k, bias: b0, stride: (1, 1), padding: (3, 3), groups: 8)
                try out.backward(seed: out)
                return (out, try XCTUnwrap(x.grad), try XCTUnwrap(k.grad))
            }
        }
        let (o1, x1, k1) = try run(true), (o2, x2, k2) = try run(false)
        var differs = false
        for (a, b) in [(o1, o2), (x1, x2), (k1, k2)] {
            for i in 0..<a.count {
                XCTAssertEqual(a.ptr[i], b.ptr[i], accuracy: 2e-3 * Swift.max(1, abs(b.ptr[i])))
                if a.ptr[i] != b.ptr[i] { differs = true }
            }
        }
        XCTAssertTrue(differs, "the two paths summed in the same order: the switch did not change the kernel")
    }
}
