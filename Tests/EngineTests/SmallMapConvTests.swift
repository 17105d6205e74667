// The small-map convolution path (Conv+SmallMap.swift: only the taps inside the image) against
// float64 loops, on the geometries where it is chosen: 1x1 to 5x5 maps, kernels 3 to 7, strides
// 1 and 2, padding on one or both axes, outputs that see only padding, and one-sided gradients.
import XCTest
@testable import Engine
@testable import Tensor

final class SmallMapConvTests: XCTestCase {
    /// Plain convolution (groups 1) forward and gradients for upstream gradient `r`, in float64.
    static func reference(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ r: Tensor, stride: (Int, Int), pad: (Int, Int))
        -> (out: [Double], dx: [Double], dw: [Double], db: [Double]) {
        let n = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3]
        let co = w.shape[0], kh = w.shape[2], kw = w.shape[3]
        let ho = (h + 2 * pad.0 - kh) / stride.0 + 1, wo = (wd + 2 * pad.1 - kw) / stride.1 + 1
        var out = [Double](repeating: 0, count: n * co * ho * wo)
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count)
        var db = [Double](repeating: 0, count: co)
        for b in 0..<n {
            for o in 0..<co {
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        let oi = ((b * co + o) * ho + oy) * wo + ox
                        let g = Double(r.ptr[oi])
                        var s = Double(bias?.ptr[o] ?? 0)
                        db[o] += g
                        for ch in 0..<c {
                            for ky in 0..<kh {
                                let iy = oy * stride.0 - pad.0 + ky
                                if iy < 0 || iy >= h { continue }
                                for kx in 0..<kw {
                                    let ix = ox * stride.1 - pad.1 + kx
                                    if ix < 0 || ix >= wd { continue }
                                    let xi = ((b * c + ch) * h + iy) * wd + ix
                                    let wi = ((o * c + ch) * kh + ky) * kw + kx
                                    s += Double(x.ptr[xi]) * Double(w.ptr[wi])
                                    dx[xi] += g * Double(w.ptr[wi])
                                    dw[wi] += g * Double(x.ptr[xi])
                                }
                            }
                        }
                        out[oi] = s
                    }
                }
            }
        }
        return (out, dx, dw, db)
    }

    func geometry(_ x: [Int], _ w: [Int], stride: (Int, Int), pad: (Int, Int)) -> ConvGeometry {
        let ho = (x[2] + 2 * pad.0 - w[2]) / stride.0 + 1, wo = (x[3] + 2 * pad.1 - w[3]) / stride.1 + 1
        return ConvGeometry(n: x[0], cin: x[1], h: x[2], w: x[3], cout: w[0], kh: w[2], kw: w[3],
                            sh: stride.0, sw: stride.1, ph: pad.0, pw: pad.1, groups: 1, ho: ho, wo: wo)
    }

    func testMatchesLoopsOnSmallMaps() throws {
        // (N, Cin, H, W, Cout, kh, kw, sh, sw, ph, pw, bias)
        let cases: [(Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Bool)] = [
            (3, 5, 1, 1, 4, 3, 3, 1, 1, 1, 1, true),   // ResNet stage 4: only the centre tap
            (3, 6, 2, 2, 5, 3, 3, 1, 1, 1, 1, true),   // stage 3: four tap rectangles
            (2, 4, 4, 4, 3, 3, 3, 1, 1, 1, 1, false),  // stage 2: nine classes
            (3, 4, 2, 2, 6, 3, 3, 2, 2, 1, 1, true),   // stride 2 onto a 1x1 map
            (2, 3, 5, 3, 4, 3, 3, 2, 1, 1, 1, true),   // odd, rectangular map, mixed strides
            (2, 3, 3, 3, 2, 7, 7, 1, 1, 3, 3, true),   // 7x7 on a 3x3 map
            (2, 3, 4, 4, 5, 7, 7, 4, 4, 2, 2, false),  // PoolFormer-style 7x7/s4 stem on a tiny image
            (1, 3, 2, 3, 2, 3, 5, 1, 1, 1, 2, true),   // rectangular kernel, different paddings
            (2, 2, 1, 1, 3, 3, 3, 1, 1, 3, 3, true),   // padding >= kernel: outputs that see only padding
            (1, 2, 2, 1, 2, 3, 1, 1, 1, 1, 0, true),   // padding on one axis only (3x1 kernel)
            (2, 3, 5, 5, 4, 3, 3, 4, 4, 1, 1, true),   // stride larger than the kernel
            (3, 1, 2, 2, 3, 3, 3, 1, 1, 1, 1, true),   // one input channel
            (2, 3, 1, 40, 2, 3, 3, 1, 1, 1, 1, true),  // a 1x40 strip: rows above and below are padding
        ]
        for (k, cfg) in cases.enumerated() {
            let (n, c, h, w, co, kh, kw, sh, sw, ph, pw, hasBias) = cfg
            let geo = geometry([n, c, h, w], [co, c, kh, kw], stride: (sh, sw), pad: (ph, pw))
            XCTAssertNotNil(SmallMapPlan.make(geo), "case \(cfg) should take the small-map path")
            let x = rnd([n, c, h, w], seed: UInt64(10 + k))
            let wt = rnd([co, c, kh, kw], seed: UInt64(20 + k))
            let b = hasBias ? rnd([co], seed: UInt64(30 + k)) : nil
            let out = try Tensor.conv2d(x, weight: wt, bias: b, stride: (sh, sw), padding: (ph, pw))
            let r = rnd(out.shape, seed: UInt64(40 + k), requiresGrad: false)
            try out.backward(seed: r)
            let ref = Self.reference(x, wt, b, r, stride: (sh, sw), pad: (ph, pw))
            let what = "small-map conv \(cfg)"
            assertClose(out.toArray(), ref.out, "\(what) forward")
            assertClose(x.grad?.toArray() ?? [], ref.dx, "\(what) dx")
            assertClose(wt.grad?.toArray() ?? [], ref.dw, "\(what) dw")
            if let b = b { assertClose(b.grad?.toArray() ?? [], ref.db, "\(what) db") }
        }
    }

    func testStridedStemsOnWideMapsMatchLoops() throws {
        // The im2col path (maps too large for the small-map plan) with strides 2 and 4, whose
        // im2col copies 16 outputs at a time from 2 or 4 vector loads; widths where the vector
        // loop runs, stops before the row's end, and pads, with bias (the output starts as it).
        // (N, Cin, H, W, Cout, k, stride, pad)
        let cases: [(Int, Int, Int, Int, Int, Int, Int, Int)] = [
            (2, 3, 9, 77, 4, 7, 2, 3),   // ResNet-style 7x7/s2 stem
            (1, 2, 6, 70, 3, 4, 4, 0),   // ConvNeXt-style 4x4/s4 patchify
            (2, 3, 8, 150, 2, 7, 4, 2),  // PoolFormer-style 7x7/s4 stem
            (1, 2, 5, 66, 3, 3, 2, 1),   // 3x3/s2 with a width just past two vectors
        ]
        for (k, cfg) in cases.enumerated() {
            let (n, c, h, w, co, ks, st, pd) = cfg
            let x = rnd([n, c, h, w], seed: UInt64(50 + k))
            let wt = rnd([co, c, ks, ks], seed: UInt64(60 + k))
            let b = rnd([co], seed: UInt64(70 + k))
            let out = try Tensor.conv2d(x, weight: wt, bias: b, stride: (st, st), padding: (pd, pd))
            let r = rnd(out.shape, seed: UInt64(80 + k), requiresGrad: false)
            try out.backward(seed: r)
            let ref = Self.reference(x, wt, b, r, stride: (st, st), pad: (pd, pd))
            assertClose(out.toArray(), ref.out, "strided conv \(cfg) forward")
            assertClose(x.grad?.toArray() ?? [], ref.dx, "strided conv \(cfg) dx")
            assertClose(wt.grad?.toArray() ?? [], ref.dw, "strided conv \(cfg) dw")
        }
    }

    func testPointwiseOnSmallMapsMatchesLoops() throws {
        // 1x1 convolutions batch images through CKernels' pack/unpack, which take a blocked
        // transpose path for planes under 16 floats (and a row path from 16): both sides of it,
        // channel counts that are not a multiple of the 16-row block, more than one image.
        for (k, (n, c, h, w, co)) in [(5, 20, 1, 1, 37), (3, 17, 2, 2, 18), (4, 33, 3, 3, 5), (2, 6, 4, 4, 7), (3, 5, 1, 3, 40)].enumerated() {
            let x = rnd([n, c, h, w], seed: UInt64(50 + k)), wt = rnd([co, c, 1, 1], seed: UInt64(60 + k))
            let b = rnd([co], seed: UInt64(70 + k))
            let out = try Tensor.conv2d(x, weight: wt, bias: b)
            let r = rnd(out.shape, seed: UInt64(80 + k), requiresGrad: false)
            try out.backward(seed: r)
            let ref = Self.reference(x, wt, b, r, stride: (1, 1), pad: (0, 0))
            let what = "1x1 conv \((n, c, h, w, co))"
            assertClose(out.toArray(), ref.out, "\(what) forward")
            assertClose(x.grad?.toArray() ?? [], ref.dx, "\(what) dx")
            assertClose(wt.grad?.toArray() ?? [], ref.dw, "\(what) dw")
            assertClose(b.grad?.toArray() ?? [], ref.db, "\(what) db")
        }
    }

    func testSameResultAsIm2colPath() throws {
        // The batch is split over the threads: 7 images, so the chunks are uneven.
        let x = rnd([7, 16, 2, 2], seed: 1), w = rnd([24, 16, 3, 3], seed: 2)
        let r = rnd([7, 24, 2, 2], seed: 3, requiresGrad: false)
        func run(_ small: Bool) throws -> (Tensor, [Float], [Float]) {
            return try Backend.with({ $0.smallMap = small }) {
                x.grad = nil; w.grad = nil
                let o = try Tensor.conv2d(x, weight: w, bias: nil, padding: (1, 1))
                try o.backward(seed: r)
                return (o, x.grad?.toArray() ?? [], w.grad?.toArray() ?? [])
            }
        }
        let (a, adx, adw) = try run(true), (b, bdx, bdw) = try run(false)
        assertClose(a.toArray(), b.toArray().map(Double.init), "forward")
        assertClose(adx, bdx.map(Double.init), "dx")
        assertClose(adw, bdw.map(Double.init), "dw")
    }

    func testThreadedAndChunkedPathsMatchIm2col() throws {
        // Big enough for the threaded gathers/scatters and split products (N 64, 128 channels),
        // then again with the column matrices capped so the batch runs in chunks of images.
        let x = rnd([64, 128, 2, 2], seed: 21), w = rnd([96, 128, 3, 3], seed: 22), b = rnd([96], seed: 23)
        let r = rnd([64, 96, 2, 2], seed: 24, requiresGrad: false)
        func run(small: Bool, cap: Int) throws -> [[Float]] {
            return try Backend.with({ $0.smallMap = small; $0.smallMapColumnFloats = cap }) {
                x.grad = nil; w.grad = nil; b.grad = nil
                let o = try Tensor.conv2d(x, weight: w, bias: b, padding: (1, 1))
                try o.backward(seed: r)
                return [o.toArray(), x.grad?.toArray() ?? [], w.grad?.toArray() ?? [], b.grad?.toArray() ?? []]
            }
        }
        let reference = try run(small: false, cap: 8 << 20)
        for cap in [8 << 20, 5000] {
            let got = try run(small: true, cap: cap)
            for (i, what) in ["forward", "dx", "dw", "db"].enumerated() {
                assertClose(got[i], reference[i].map(Double.init), "cap \(cap) \(what)", tol: 1e-3)
            }
        }
    }

    func testBiasOnlyGradient() throws {
        // Input and weight frozen: the bias still gets its gradient (sum over images and positions).
        let x = rnd([2, 3, 2, 2], seed: 31, requiresGrad: false), w = rnd([4, 3, 3, 3], seed: 32, requiresGrad: false)
        let b = rnd([4], seed: 33)
        let o = try Tensor.conv2d(x, weight: w, bias: b, padding: (1, 1))
        let r = rnd(o.shape, seed: 34, requiresGrad: false)
        try o.backward(seed: r)
        assertClose(b.grad?.toArray() ?? [], Self.reference(x, w, b, r, stride: (1, 1), pad: (1, 1)).db, "db")
    }

    func testOneSidedGradients() throws {
        // The attack needs only the input gradient; frozen inputs need only the weight one.
        let x = rnd([2, 3, 2, 2], seed: 5), w = rnd([4, 3, 3, 3], seed: 6)
        w.requiresGrad = false
        let o1 = try Tensor.conv2d(x, weight: w, bias: nil, padding: (1, 1))
        let r = rnd(o1.shape, seed: 7, requiresGrad: false)
        try o1.backward(seed: r)
        let ref = Self.reference(x, w, nil, r, stride: (1, 1), pad: (1, 1))
        assertClose(x.grad?.toArray() ?? [], ref.dx, "dx only")
        XCTAssertNil(w.grad)
        x.grad = nil; x.requiresGrad = false; w.requiresGrad = true
        let o2 = try Tensor.conv2d(x, weight: w, bias: nil, padding: (1, 1))
        try o2.backward(seed: r)
        assertClose(w.grad?.toArray() ?? [], ref.dw, "dw only")
        XCTAssertNil(x.grad)
    }

    func testGradCheck() {
        gradCheck("conv2d small map 2x3, 3x3 pad 1, stride 2", [rnd([2, 3, 2, 3], seed: 8), rnd([2, 3, 3, 3], seed: 9), rnd([2], seed: 10)]) {
            try Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: (1, 1))
        }
        gradCheck("conv2d small map 1x1, 3x3 pad 1", [rnd([3, 4, 1, 1], seed: 11), rnd([5, 4, 3, 3], seed: 12)]) {
            try Tensor.conv2d($0[0], weight: $0[1], bias: nil, padding: (1, 1))
        }
    }

    func testPlanIsNotUsedWhereItDoesNotPay() {
        // Large maps, no padding, 1x1 kernels and grouped convolutions keep im2col + sgemm.
        XCTAssertNil(SmallMapPlan.make(geometry([1, 8, 16, 16], [8, 8, 3, 3], stride: (1, 1), pad: (1, 1))))
        XCTAssertNil(SmallMapPlan.make(geometry([1, 8, 4, 4], [8, 8, 2, 2], stride: (2, 2), pad: (0, 0))))
        XCTAssertNil(SmallMapPlan.make(geometry([1, 8, 4, 4], [8, 8, 1, 1], stride: (1, 1), pad: (0, 0))))
        XCTAssertNil(SmallMapPlan.make(geometry([1, 8, 8, 8], [8, 8, 3, 3], stride: (2, 2), pad: (1, 1))))  // 17% waste
    }
}
