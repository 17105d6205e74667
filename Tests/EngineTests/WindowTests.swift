// Swin's fused window ops (Tensor/Ops/Window.swift: windowPartition, windowMerge) against the
// unfused roll, pad, reshape/permute, slice, mul and add they replace: the same values forward and
// backward (they only copy, or round k * v and then + r as mul and add do), finite differences,
// one or two threads, and the errors for operands that do not fit.
import XCTest
@testable import Engine
@testable import Tensor

// `leaf` (a new leaf with a tensor's values) is LayerScaleTests'.

final class WindowTests: XCTestCase {
    /// (B, H, W, C, window, shift): no shift, a shift, padding on one or both axes (with and
    /// without a shift), one window, Swin-T's 56x56 stage and the 32x32 benchmark's 16x16 one.
    let cases: [(Int, Int, Int, Int, Int, Int)] = [
        (2, 4, 4, 3, 2, 0), (2, 4, 4, 3, 2, 1), (1, 5, 7, 2, 3, 1), (2, 6, 5, 4, 4, 0), (3, 3, 3, 5, 3, 0),
        (1, 7, 7, 17, 7, 3), (2, 14, 14, 8, 7, 3), (1, 16, 16, 64, 4, 2), (2, 9, 9, 6, 7, 3),
    ]

    /// The unfused partition (SwinBlock's ops before the fusion): roll by -shift, pad, reshape,
    /// permute, reshape.
    func unfusedPartition(_ x: Tensor, _ w: Int, _ s: Int) throws -> Tensor {
        let b = x.shape[0], h = x.shape[1], wd = x.shape[2], c = x.shape[3]
        var t = x
        if s > 0 { t = try t.roll(shifts: [-s, -s], axes: [1, 2]) }
        let ph = (w - h % w) % w, pw = (w - wd % w) % w
        if ph + pw > 0 { t = try t.pad([(0, 0), (0, ph), (0, pw), (0, 0)]) }
        let ny = (h + ph) / w, nx = (wd + pw) / w
        return try t.reshape([b, ny, w, nx, w, c]).permute([0, 1, 3, 2, 4, 5]).reshape([b * ny * nx, w * w, c])
    }

    /// The unfused merge: reshape, permute, reshape, crop, roll by +shift, times k, plus r.
    func unfusedMerge(_ o: Tensor, _ b: Int, _ h: Int, _ wd: Int, _ w: Int, _ s: Int, _ r: Tensor?, _ k: [Float]?) throws -> Tensor {
        let c = o.shape[2], ny = (h + w - 1) / w, nx = (wd + w - 1) / w
        var t = try o.reshape([b, ny, nx, w, w, c]).permute([0, 1, 3, 2, 4, 5]).reshape([b, ny * w, nx * w, c])
        if ny * w > h || nx * w > wd { t = try t.slice(axis: 1, start: 0, end: h).slice(axis: 2, start: 0, end: wd) }
        if s > 0 { t = try t.roll(shifts: [s, s], axes: [1, 2]) }
        if let k = k { t = try t.mul(Tensor(shape: [b, 1, 1, 1], data: k)) }
        if let r = r { t = try t.add(r) }
        return t
    }

    func assertSameBits(_ a: Tensor, _ b: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
        guard a.shape == b.shape else { return }
        var differ = 0
        // == rather than bit patterns: the unfused crop's gradient adds into zeros, so a -0 there is +0.
        for i in 0..<a.count where a.ptr[i] != b.ptr[i] { differ += 1 }
        XCTAssertEqual(differ, 0, "\(what): \(differ) of \(a.count) values differ", file: file, line: line)
    }

    func testPartitionGivesTheUnfusedOpsBits() throws {
        for (b, h, wd, c, w, s) in cases {
            let x = rnd([b, h, wd, c], seed: 1)
            let ux = leaf(x), fx = leaf(x)
            let want = try unfusedPartition(ux, w, s), got = try Tensor.windowPartition(fx, window: w, shift: s)
            let g = rnd(want.shape, seed: 2, requiresGrad: false)
            try want.backward(seed: g)
            try got.backward(seed: g)
            let what = "partition \((b, h, wd, c, w, s))"
            assertSameBits(got, want, "\(what): output")
            assertSameBits(fx.grad!, ux.grad!, "\(what): gradient")
        }
    }

    func testMergeGivesTheUnfusedOpsBits() throws {
        for (b, h, wd, c, w, s) in cases {
            let nw = ((h + w - 1) / w) * ((wd + w - 1) / w)
            let o = rnd([b * nw, w * w, c], seed: 3), x = rnd([b, h, wd, c], seed: 4)
            for (withResidual, k) in [(false, nil), (true, nil), (true, (0..<b).map { Float($0 % 2 == 0 ? 1.25 : 0) }),
                                      (false, (0..<b).map { Float($0 % 2 == 0 ? 0.75 : 1.5) })] as [(Bool, [Float]?)] {
                let uo = leaf(o), ux = leaf(x), fo = leaf(o), fx = leaf(x)
                let want = try unfusedMerge(uo, b, h, wd, w, s, withResidual ? ux : nil, k)
                let got = try Tensor.windowMerge(fo, height: h, width: wd, shift: s, residual: withResidual ? fx : nil, sampleScale: k)
                let g = rnd(want.shape, seed: 5, requiresGrad: false)
                try want.backward(seed: g)
                try got.backward(seed: g)
                let what = "merge \((b, h, wd, c, w, s)) residual \(withResidual) k \(k != nil)"
                assertSameBits(got, want, "\(what): output")
                assertSameBits(fo.grad!, uo.grad!, "\(what): windows' gradient")
                if withResidual { assertSameBits(fx.grad!, ux.grad!, "\(what): residual's gradient") }
            }
        }
    }

    func testGradientsMatchFiniteDifferences() {
        let x = rnd([2, 5, 5, 3], seed: 6)
        gradCheck("windowPartition", [x]) { try Tensor.windowPartition($0[0], window: 3, shift: 1) }
        let o = rnd([8, 9, 3], seed: 7)
        gradCheck("windowMerge", [o, x]) {
            try Tensor.windowMerge($0[0], height: 5, width: 5, shift: 1, residual: $0[1], sampleScale: [2, 0.5])
        }
    }

    func testOneOrTwoThreadsGiveTheSameBits() throws {
        let x = rnd([4, 14, 14, 32], seed: 8)
        func run() throws -> [Tensor] {
            let xl = leaf(x)
            let p = try Tensor.windowPartition(xl, window: 7, shift: 3)
            let m = try Tensor.windowMerge(p.mul(p), height: 14, width: 14, shift: 3, residual: xl, sampleScale: [1, 0, 2, 1])
            try m.backward(seed: rnd(m.shape, seed: 9, requiresGrad: false))
            return [p, m, xl.grad!]
        }
        let one = try Backend.with({ $0.threads = 1 }) { try run() }
        let two = try Backend.with({ $0.threads = 2 }) { try run() }
        for (i, what) in ["partition", "merge", "gradient"].enumerated() { assertSameBits(two[i], one[i], what) }
    }

    func testOperandsThatDoNotFitAreErrors() {
        let x = rnd([2, 4, 4, 3], seed: 10)
        XCTAssertThrowsError(try Tensor.windowPartition(rnd([4, 4, 3], seed: 11), window: 2, shift: 0))
        XCTAssertThrowsError(try Tensor.windowPartition(x, window: 2, shift: 2))
        XCTAssertThrowsError(try Tensor.windowPartition(x, window: 0, shift: 0))
        let o = rnd([8, 4, 3], seed: 12)
        XCTAssertThrowsError(try Tensor.windowMerge(rnd([8, 5, 3], seed: 13), height: 4, width: 4, shift: 0))
        XCTAssertThrowsError(try Tensor.windowMerge(rnd([7, 4, 3], seed: 14), height: 4, width: 4, shift: 0))
        XCTAssertThrowsError(try Tensor.windowMerge(o, height: 4, width: 4, shift: 0, residual: rnd([2, 4, 4, 2], seed: 15)))
        XCTAssertThrowsError(try Tensor.windowMerge(o, height: 4, width: 4, shift: 0, sampleScale: [1]))
        XCTAssertNoThrow(try Tensor.windowMerge(o, height: 4, width: 4, shift: 1, residual: x, sampleScale: [1, 1]))
    }
}
