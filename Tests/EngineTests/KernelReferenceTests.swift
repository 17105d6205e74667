// The C kernels (CKernels: AVX-512 / AVX2 / baseline clones) against plain float64 loops, over
// the geometries that exercise their edge cases: planes narrower and wider than one 16-lane
// vector, kernels falling mostly on padding, padding at its limit, and the fallback paths.
import XCTest
import CKernels
@testable import Engine
@testable import Tensor

final class KernelReferenceTests: XCTestCase {
    /// Depthwise conv forward and both gradients (for upstream gradient `r`) in float64 loops.
    /// x: (N, C, H, W), w: (C, 1, kh, kw) -> out (N, C, Ho, Wo), dx, dw
    static func depthwiseReference(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ r: Tensor, stride: Int, pad: (Int, Int))
        -> (out: [Double], dx: [Double], dw: [Double], db: [Double]) {
        let n = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3]
        let kh = w.shape[2], kw = w.shape[3]
        let ho = (h + 2 * pad.0 - kh) / stride + 1, wo = (wd + 2 * pad.1 - kw) / stride + 1
        var out = [Double](repeating: 0, count: n * c * ho * wo)
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count)
        var db = [Double](repeating: 0, count: c)
        for i in 0..<n {
            for ch in 0..<c {
                for oh in 0..<ho {
                    for ow in 0..<wo {
                        let o = ((i * c + ch) * ho + oh) * wo + ow
                        var s = bias.map { Double($0.ptr[ch]) } ?? 0
                        let gv = Double(r.ptr[o])
                        db[ch] += gv
                        for a in 0..<kh {
                            for b in 0..<kw {
                                let ih = oh * stride - pad.0 + a, iw = ow * stride - pad.1 + b
                                guard ih >= 0, ih < h, iw >= 0, iw < wd else { continue }
                                let xi = ((i * c + ch) * h + ih) * wd + iw, wi = (ch * kh + a) * kw + b
                                s += Double(x.ptr[xi]) * Double(w.ptr[wi])
                                dx[xi] += gv * Double(w.ptr[wi])
                                dw[wi] += gv * Double(x.ptr[xi])
                            }
                        }
                        out[o] = s
                    }
                }
            }
        }
        return (out, dx, dw, db)
    }

    func testDepthwiseMatchesLoopsOnEveryGeometry() throws {
        // (N, C, H, W, kh, kw, stride, ph, pw, bias)
        let cases: [(Int, Int, Int, Int, Int, Int, Int, Int, Int, Bool)] = [
            (2, 3, 1, 1, 7, 7, 1, 3, 3, true),    // 1x1 maps: only the centre tap is real
            (2, 3, 2, 2, 7, 7, 1, 3, 3, false),
            (3, 2, 8, 8, 7, 7, 1, 3, 3, true),    // ConvNeXt stage 1 at 32x32
            (1, 2, 3, 5, 7, 7, 1, 3, 3, true),    // rectangular, narrower than the kernel
            (1, 2, 17, 37, 7, 7, 1, 3, 3, true),  // wider than two 16-lane vectors, with a tail
            (2, 3, 6, 6, 3, 3, 1, 1, 1, true),
            (1, 2, 9, 9, 5, 5, 1, 0, 0, false),   // no padding
            (1, 2, 5, 4, 3, 3, 1, 2, 2, false),   // padding == k - 1 (largest for the fast path)
            (1, 2, 4, 4, 3, 3, 1, 3, 3, true),    // padding >= k: general path
            (1, 2, 6, 7, 3, 5, 1, 1, 2, true),    // rectangular kernel
            (2, 2, 9, 9, 3, 3, 2, 1, 1, true),    // stride 2: general path
        ]
        for (k, cfg) in cases.enumerated() {
            let (n, c, h, w, kh, kw, s, ph, pw, hasBias) = cfg
            let x = rnd([n, c, h, w], seed: UInt64(100 + k))
            let wt = rnd([c, 1, kh, kw], seed: UInt64(200 + k))
            let b = hasBias ? rnd([c], seed: UInt64(300 + k)) : nil
            let out = try Tensor.conv2d(x, weight: wt, bias: b, stride: (s, s), padding: (ph, pw), groups: c)
            let r = rnd(out.shape, seed: UInt64(400 + k), requiresGrad: false)
            try out.backward(seed: r)
            let ref = Self.depthwiseReference(x, wt, b, r, stride: s, pad: (ph, pw))
            let what = "depthwise \(cfg)"
            assertClose(out.toArray(), ref.out, "\(what) forward")
            assertClose(x.grad?.toArray() ?? [], ref.dx, "\(what) dx")
            assertClose(wt.grad?.toArray() ?? [], ref.dw, "\(what) dw")
            if let b = b { assertClose(b.grad?.toArray() ?? [], ref.db, "\(what) db") }
        }
    }

    func testDepthwiseWeightGradientOnlyAndInputGradientOnly() throws {
        // The attack needs only the input gradient; a frozen input needs only the weight one.
        let x = rnd([2, 3, 8, 8], seed: 1), w = rnd([3, 1, 7, 7], seed: 2)
        w.requiresGrad = false
        let o1 = try Tensor.conv2d(x, weight: w, bias: nil, padding: (3, 3), groups: 3)
        let r = rnd(o1.shape, seed: 3, requiresGrad: false)
        try o1.backward(seed: r)
        let ref = Self.depthwiseReference(x, w, nil, r, stride: 1, pad: (3, 3))
        assertClose(x.grad?.toArray() ?? [], ref.dx, "dx only")
        XCTAssertNil(w.grad)
        x.grad = nil; x.requiresGrad = false; w.requiresGrad = true
        let o2 = try Tensor.conv2d(x, weight: w, bias: nil, padding: (3, 3), groups: 3)
        try o2.backward(seed: r)
        assertClose(w.grad?.toArray() ?? [], ref.dw, "dw only")
        XCTAssertNil(x.grad)
    }

    func testGeluMatchesErfFormula() throws {
        // Lengths around the vector width (tails), values over the range that matters.
        for n in [1, 15, 16, 17, 100, 1000] {
            let x = Tensor.uniform([n], low: -9, high: 9, rng: RNG(seed: UInt64(n)))
            x.requiresGrad = true
            let y = x.gelu()
            let r = rnd([n], seed: 7, requiresGrad: false)
            try y.backward(seed: r)
            var want: [Double] = [], dwant: [Double] = []
            for i in 0..<n {
                let v = Double(x.ptr[i])
                let cdf = 0.5 * (1 + erf(v / 2.0.squareRoot()))
                let pdf = exp(-0.5 * v * v) / (2 * Double.pi).squareRoot()
                want.append(v * cdf)
                dwant.append(Double(r.ptr[i]) * (cdf + v * pdf))
            }
            assertClose(y.toArray(), want, "gelu n=\(n)", tol: 2e-6)
            assertClose(x.grad?.toArray() ?? [], dwant, "gelu grad n=\(n)", tol: 2e-6)
        }
        // NaN stays NaN; huge finite values saturate like PyTorch (x and -0).
        let special = try Tensor(shape: [4], data: [.nan, 1e30, -1e30, 0]).gelu().toArray()
        XCTAssertTrue(special[0].isNaN)
        XCTAssertEqual(special[1], 1e30)
        XCTAssertEqual(special[2], 0)
        XCTAssertEqual(special[3], 0)
    }

    func testSoftmaxMatchesDoubleOnRowLengthsAroundTheVectorWidth() throws {
        for n in [1, 5, 16, 17, 49, 65, 197] {
            let rows = 3
            let x = Tensor.uniform([rows, n], low: -30, high: 30, rng: RNG(seed: UInt64(n)))
            x.requiresGrad = true
            let y = try x.softmax(axis: -1)
            let r = rnd([rows, n], seed: 9, requiresGrad: false)
            try y.backward(seed: r)
            var want: [Double] = [], dwant: [Double] = []
            for i in 0..<rows {
                let row = (0..<n).map { Double(x.ptr[i * n + $0]) }
                let m = row.max() ?? 0
                let e = row.map { exp($0 - m) }
                let z = e.reduce(0, +)
                let p = e.map { $0 / z }
                let dot = (0..<n).reduce(0.0) { $0 + Double(r.ptr[i * n + $1]) * p[$1] }
                want += p
                dwant += (0..<n).map { p[$0] * (Double(r.ptr[i * n + $0]) - dot) }
            }
            assertClose(y.toArray(), want, "softmax n=\(n)", tol: 1e-6)
            assertClose(x.grad?.toArray() ?? [], dwant, "softmax grad n=\(n)", tol: 1e-6)
        }
        let withNaN = try Tensor(shape: [1, 20], data: [Float](repeating: 1, count: 19) + [.nan]).softmax(axis: -1).toArray()
        XCTAssertTrue(withNaN.allSatisfy { $0.isNaN }, "a NaN in a row makes the whole row NaN, as in PyTorch")
    }

    func testAttentionWithoutGradientGivesTheSameOutput() throws {
        // Under no_grad (or with no input requiring grad) attention keeps no probabilities and
        // works in a per-chunk scratch; the output must equal the recorded path's, at every
        // precision (bf16/fp16 round P into a second scratch).
        let rng = RNG(seed: 90)
        for precision in Precision.allCases {
            for withBias in [false, true] {
                let b = 3, h = 2, t = 7, d = 4
                let qkv = Tensor.randn([b, t, 3 * h * d], rng: rng)
                let q = Tensor.randn([b, h, t, d], rng: rng), k = Tensor.randn([b, h, t, d], rng: rng), v = Tensor.randn([b, h, t, d], rng: rng)
                let bias = withBias ? Tensor.randn([1, h, t, t], rng: rng) : nil
                func both() throws -> [[Float]] {
                    [try Tensor.attentionPacked(qkv: qkv, heads: h, bias: bias, scale: 0.5, precision: precision).toArray(),
                     try Tensor.attention(q: q, k: k, v: v, bias: bias, scale: 0.5, precision: precision).toArray()]
                }
                for x in [qkv, q, k, v] { x.requiresGrad = true }
                let recorded = try both()
                let free = try Autograd.noGrad { try both() }
                XCTAssertEqual(free, recorded, "\(precision) bias \(withBias)")
            }
        }
    }

    func testPackedAttentionGradientsAtEveryPrecision() throws {
        // attentionPacked's backward rounds the kept probabilities again per head (bf16, fp16)
        // and keeps the score gradients only when the bias needs a gradient: qkv's gradient must
        // equal the permuted route's (which keeps both), with the bias a leaf or a constant.
        let b = 4, t = 9, heads = 2, d = 4, c = heads * d
        for precision in Precision.allCases {
            for biasGrad in [false, true] {
                let qkv = rnd([b, t, 3 * c], seed: 60)
                let bias = rnd([2, heads, t, t], seed: 61, requiresGrad: biasGrad)
                let out = try Tensor.attentionPacked(qkv: qkv, heads: heads, bias: bias, scale: 0.4, precision: precision)
                let r = rnd(out.shape, seed: 62, requiresGrad: false)
                try out.backward(seed: r)
                let gPacked = qkv.grad?.toArray() ?? [], gbPacked = bias.grad?.toArray() ?? []
                qkv.grad = nil; bias.grad = nil
                let p = try qkv.reshape([b, t, 3, heads, d]).permute([2, 0, 3, 1, 4]).split(sizes: [1, 1, 1], axis: 0)
                    .map { try $0.reshape([b, heads, t, d]) }
                let full = try bias.reshape([1, 2, heads, t, t]).expand(to: [b / 2, 2, heads, t, t]).reshape([b, heads, t, t])
                let ref = try Tensor.attention(q: p[0], k: p[1], v: p[2], bias: full, scale: 0.4, precision: precision)
                    .permute([0, 2, 1, 3]).reshape([b, t, c])
                try ref.backward(seed: r)
                let what = "packed attention \(precision) bias grad \(biasGrad)"
                assertClose(out.toArray(), ref.toArray().map(Double.init), "\(what): output", tol: 1e-6)
                assertClose(gPacked, (qkv.grad?.toArray() ?? []).map(Double.init), "\(what): dqkv", tol: 1e-6)
                XCTAssertEqual(gbPacked.isEmpty, !biasGrad, "\(what): bias gradient present")
                if biasGrad { assertClose(gbPacked, (bias.grad?.toArray() ?? []).map(Double.init), "\(what): dbias", tol: 1e-6) }
            }
        }
    }

    func testPackedAttentionEqualsPermutedAttention() throws {
        // B = 4 sequences, T = 5 tokens, 2 heads of 3 dims; bias groups G = 2 (Swin: windows).
        let b = 4, t = 5, heads = 2, d = 3, c = heads * d
        for groups in [0, 1, 2] {
            let qkv = rnd([b, t, 3 * c], seed: 50)
            let bias = groups > 0 ? rnd([groups, heads, t, t], seed: 51) : nil
            let out = try Tensor.attentionPacked(qkv: qkv, heads: heads, bias: bias, scale: 0.4)
            let r = rnd(out.shape, seed: 52, requiresGrad: false)
            try out.backward(seed: r)
            let gPacked = qkv.grad?.toArray() ?? [], gbPacked = bias?.grad?.toArray() ?? []
            qkv.grad = nil; bias?.grad = nil

            // Reference: the permute/split route, the bias expanded to every sequence.
            let p = try qkv.reshape([b, t, 3, heads, d]).permute([2, 0, 3, 1, 4]).split(sizes: [1, 1, 1], axis: 0)
                .map { try $0.reshape([b, heads, t, d]) }
            var full: Tensor? = nil
            if let bias = bias {
                full = try bias.reshape([1, groups, heads, t, t]).expand(to: [b / groups, groups, heads, t, t]).reshape([b, heads, t, t])
            }
            let ref = try Tensor.attention(q: p[0], k: p[1], v: p[2], bias: full, scale: 0.4).permute([0, 2, 1, 3]).reshape([b, t, c])
            try ref.backward(seed: r)
            assertClose(out.toArray(), ref.toArray().map(Double.init), "packed attention G=\(groups)", tol: 1e-6)
            assertClose(gPacked, (qkv.grad?.toArray() ?? []).map(Double.init), "packed attention dqkv G=\(groups)", tol: 1e-6)
            if let bias = bias { assertClose(gbPacked, (bias.grad?.toArray() ?? []).map(Double.init), "packed attention dbias G=\(groups)", tol: 1e-6) }
        }
        gradCheck("attention packed with grouped bias", [rnd([4, 3, 12], seed: 53), rnd([2, 2, 3, 3], seed: 54)]) {
            try Tensor.attentionPacked(qkv: $0[0], heads: 2, bias: $0[1], scale: 0.5)
        }
        XCTAssertThrowsError(try Tensor.attentionPacked(qkv: rnd([2, 3, 10], seed: 1), heads: 2, bias: nil, scale: 1))
        XCTAssertThrowsError(try Tensor.attentionPacked(qkv: rnd([3, 3, 12], seed: 1), heads: 2, bias: rnd([2, 2, 3, 3], seed: 2), scale: 1))
    }

    func testLargeBroadcastProductsAndTheirReductionsMatchLoops() throws {
        // Large enough for the threaded paths (first axis split, per-thread partial sums).
        for (xs, ws) in [([8, 64, 16, 16], [1, 64, 1, 1]), ([8, 16, 16, 64], [64]), ([9, 3, 50, 50], [9, 1, 1, 50])] {
            let x = rnd(xs, seed: 60), w = rnd(ws, seed: 61)
            let y = try x.mul(w)
            let r = rnd(y.shape, seed: 62, requiresGrad: false)
            try y.backward(seed: r)
            let shape = y.shape
            let sx = Strided.broadcastStrides(xs, to: shape), sw = Strided.broadcastStrides(ws, to: shape)
            var want = [Double](repeating: 0, count: y.count), gw = [Double](repeating: 0, count: w.count)
            var gx = [Double](repeating: 0, count: x.count)
            var k = 0
            Strided.walk(shape, sx, sw) { oa, ob, n, ia, ib in
                var ja = oa, jb = ob
                for _ in 0..<n {
                    want[k] = Double(x.ptr[ja]) * Double(w.ptr[jb])
                    gw[jb] += Double(r.ptr[k]) * Double(x.ptr[ja])
                    gx[ja] += Double(r.ptr[k]) * Double(w.ptr[jb])
                    k += 1; ja += ia; jb += ib
                }
            }
            assertClose(y.toArray(), want, "broadcast mul \(xs) x \(ws)", tol: 1e-6)
            assertClose(w.grad?.toArray() ?? [], gw, "broadcast mul grad of \(ws)", tol: 1e-4)
            assertClose(x.grad?.toArray() ?? [], gx, "broadcast mul grad of \(xs)", tol: 1e-6)
            let p = try x.permute([0, 2, 3, 1]).toArray()
            var ref: [Float] = []
            for a in 0..<xs[0] { for b in 0..<xs[2] { for c in 0..<xs[3] { for d in 0..<xs[1] {
                ref.append(x.ptr[((a * xs[1] + d) * xs[2] + b) * xs[3] + c])
            } } } }
            XCTAssertEqual(p, ref, "permute of \(xs)")
        }
    }

    func testCoalescedMergesOnlyDimsBothOperandsStepThroughAsOne() {
        // (N, C, H, W) against a per-channel (1, C, 1, 1): H and W merge, N and C do not.
        let (shape, sa, sb) = Strided.coalesced([2, 3, 4, 5], [60, 20, 5, 1], [0, 1, 0, 0])
        XCTAssertEqual(shape, [2, 3, 20])
        XCTAssertEqual(sa, [60, 20, 1])
        XCTAssertEqual(sb, [0, 1, 0])
        // Both contiguous: one row.
        XCTAssertEqual(Strided.coalesced([2, 3, 4], [12, 4, 1], [12, 4, 1]).0, [24])
        // A permuted operand breaks the merge.
        XCTAssertEqual(Strided.coalesced([2, 3, 4], [12, 4, 1], [1, 2, 6]).0, [2, 3, 4])
        // A uniform stride over two dims is still one run of offsets.
        XCTAssertEqual(Strided.coalesced([2, 3, 4], [12, 4, 1], [1, 8, 2]).0, [2, 12])
    }

    /// adv_im2col on patchify geometries (stride = kernel, no padding; the no-division path for
    /// rows under 16 outputs) against the index definition, for row ranges that start and end
    /// inside a channel and maps whose size is not a multiple of the kernel.
    func testPatchifyIm2colEqualsTheIndexLoop() {
        for (c, h, w, k) in [(3, 8, 8, 2), (2, 9, 11, 2), (1, 32, 32, 4), (5, 4, 4, 2), (2, 2, 2, 2), (2, 13, 7, 3)] {
            let ho = h / k, wo = w / k, rows = c * k * k, ld = ho * wo + 3
            let x = (0..<(c * h * w)).map { Float($0) * 0.5 - 7 }
            var want = [Float](repeating: -1, count: rows * ld)
            for ch in 0..<c {
                for i in 0..<k {
                    for j in 0..<k {
                        for oh in 0..<ho {
                            for ow in 0..<wo { want[((ch * k + i) * k + j) * ld + oh * wo + ow] = x[(ch * h + oh * k + i) * w + ow * k + j] }
                        }
                    }
                }
            }
            for (r0, r1) in [(0, rows), (1, rows - 1), (k + 1, rows)] where r0 < r1 {
                var got = [Float](repeating: -1, count: rows * ld)
                x.withUnsafeBufferPointer { xp in
                    got.withUnsafeMutableBufferPointer { gp in
                        adv_im2col(xp.baseAddress!, gp.baseAddress!, ld, h, w, k, k, k, k, 0, 0, ho, wo, r0, r1)
                    }
                }
                for r in r0..<r1 {
                    XCTAssertEqual(Array(got[(r * ld)..<(r * ld + ho * wo)]), Array(want[(r * ld)..<(r * ld + ho * wo)]),
                                   "c \(c) h \(h) w \(w) k \(k) row \(r) of [\(r0), \(r1))")
                }
                XCTAssertEqual(got[0..<(r0 * ld)].filter { $0 != -1 }.count, 0, "rows before r0 untouched")
            }
        }
    }
}
