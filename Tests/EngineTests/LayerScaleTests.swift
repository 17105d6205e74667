// The fused PoolFormer ops (Tensor/Ops/LayerScale.swift: poolMixer, scaledResidual) and the fused
// group norm (Tensor/Ops/GroupNorm.swift): forward and gradients against the unfused ops they
// replace and against float64 loops, finite differences, and the same bits with one or two threads.
// (The scale's gradient sums thousands of products in another order than the unfused ops: 1e-5.)
import XCTest
@testable import Engine
@testable import Tensor

/// A new leaf with t's values that requires grad.
func leaf(_ t: Tensor) -> Tensor {
    let c = Tensor(uninitialized: t.shape)
    c.ptr.update(from: t.ptr, count: t.count)
    c.requiresGrad = true
    return c
}

final class LayerScaleTests: XCTestCase {
    /// Geometries with planes of one pixel, one row, one column, narrower and wider than a
    /// vector, and PoolFormer's 7x7 and 56x56.
    let shapes: [[Int]] = [[2, 3, 1, 1], [1, 2, 1, 5], [2, 2, 6, 1], [2, 3, 2, 2], [2, 4, 7, 7], [1, 3, 5, 19], [2, 2, 56, 56]]

    /// x + scale * k * (avgPool2d(n) - n) with the unfused ops, and its gradients for seed r.
    func unfusedMixer(_ x: Tensor, _ n: Tensor, _ s: Tensor, _ k: [Float]?, _ r: Tensor) throws -> [Tensor] {
        let (x, n, s) = (leaf(x), leaf(n), leaf(s))
        var mixed = try n.avgPool2d(kernel: 3, stride: 1, padding: 1, countIncludePad: false).sub(n)
        if let k = k { mixed = try mixed.mul(Tensor(shape: [k.count, 1, 1, 1], data: k)) }
        let out = try mixed.mul(s.reshape([1, s.count, 1, 1])).add(x)
        try out.backward(seed: r)
        return [out, x.grad!, n.grad!, s.grad!]
    }

    func fusedMixer(_ x: Tensor, _ n: Tensor, _ s: Tensor, _ k: [Float]?, _ r: Tensor) throws -> [Tensor] {
        let (x, n, s) = (leaf(x), leaf(n), leaf(s))
        let out = try Tensor.poolMixer(x, normed: n, scale: s, sampleScale: k)
        try out.backward(seed: r)
        return [out, x.grad!, n.grad!, s.grad!]
    }

    func testPoolMixerMatchesTheUnfusedOps() throws {
        for shape in shapes {
            let x = rnd(shape, seed: 1), n = rnd(shape, seed: 2), s = rnd([shape[1]], seed: 3, offset: 0.5)
            let r = rnd(shape, seed: 4, requiresGrad: false)
            for k in [nil, (0..<shape[0]).map { Float($0 % 2 == 0 ? 1.25 : 0) }] {
                let want = try unfusedMixer(x, n, s, k, r), got = try fusedMixer(x, n, s, k, r)
                for (i, what) in ["output", "x grad", "n grad", "scale grad"].enumerated() {
                    assertClose(got[i].toArray(), want[i].toArray().map(Double.init), "poolMixer \(shape) k \(k != nil): \(what)", tol: what == "scale grad" ? 1e-5 : 2e-6)
                }
            }
        }
    }

    func testPoolMixerGradientsMatchFiniteDifferences() {
        let x = rnd([2, 3, 4, 5], seed: 5), n = rnd([2, 3, 4, 5], seed: 6), s = rnd([3], seed: 7, offset: 0.5)
        gradCheck("poolMixer", [x, n, s]) { try Tensor.poolMixer($0[0], normed: $0[1], scale: $0[2]) }
        gradCheck("poolMixer with drop path", [x, n, s]) { try Tensor.poolMixer($0[0], normed: $0[1], scale: $0[2], sampleScale: [0, 2]) }
        // The mixer's input is usually the norm of x itself (PoolFormer's block): both paths of x.
        gradCheck("poolMixer on norm of x", [x, s], rtol: 5e-2) {
            try Tensor.poolMixer($0[0], normed: Tensor.groupNorm($0[0], groups: 1, weight: nil, bias: nil), scale: $0[1])
        }
    }

    func testScaledResidualMatchesTheUnfusedOpsAndFiniteDifferences() throws {
        for shape in [[2, 3, 1, 1], [3, 5, 4, 7], [2, 16, 28, 28], [4, 6]] {
            let x = rnd(shape, seed: 8), y = rnd(shape, seed: 9), s = rnd([shape[1]], seed: 10, offset: 0.5)
            let r = rnd(shape, seed: 11, requiresGrad: false)
            for k in [nil, (0..<shape[0]).map { Float($0 % 2 == 0 ? 0 : 1.5) }] {
                let (ux, uy, us) = (leaf(x), leaf(y), leaf(s))
                let ones = [Int](repeating: 1, count: shape.count - 2)
                var branch = uy
                if let k = k { branch = try branch.mul(Tensor(shape: [k.count] + [1] + ones, data: k)) }
                let want = try branch.mul(us.reshape([1, shape[1]] + ones)).add(ux)
                try want.backward(seed: r)
                let (fx, fy, fs) = (leaf(x), leaf(y), leaf(s))
                let got = try Tensor.scaledResidual(fx, fy, scale: fs, sampleScale: k)
                try got.backward(seed: r)
                for (what, a, b) in [("output", got, want), ("x grad", fx.grad!, ux.grad!), ("y grad", fy.grad!, uy.grad!),
                                     ("scale grad", fs.grad!, us.grad!)] {
                    assertClose(a.toArray(), b.toArray().map(Double.init), "scaledResidual \(shape) k \(k != nil): \(what)", tol: what == "scale grad" ? 1e-5 : 2e-6)
                }
            }
        }
        let x = rnd([2, 3, 2, 3], seed: 12), y = rnd([2, 3, 2, 3], seed: 13), s = rnd([3], seed: 14)
        gradCheck("scaledResidual", [x, y, s]) { try Tensor.scaledResidual($0[0], $0[1], scale: $0[2], sampleScale: [1.5, 0.5]) }
    }

    func testChannelsLastScaledResidualMatchesMulPermuteAdd() throws {
        // Channel counts below, at and past the 16-channel tiles; pixel counts likewise.
        for shape in [[2, 3, 1, 1], [2, 16, 4, 4], [3, 20, 5, 7], [1, 40, 17, 3], [2, 96, 14, 14]] {
            let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
            let x = rnd(shape, seed: 40), y = rnd([n, h, w, c], seed: 41), s = rnd([c], seed: 42, offset: 0.5)
            let r = rnd(shape, seed: 43, requiresGrad: false)
            for k in [nil, (0..<n).map { Float($0 % 2 == 0 ? 1.5 : 0) }] {
                let (ux, uy, us) = (leaf(x), leaf(y), leaf(s))
                var branch = try uy.mul(us).permute([0, 3, 1, 2])
                if let k = k { branch = try branch.mul(Tensor(shape: [n, 1, 1, 1], data: k)) }
                let want = try branch.add(ux)
                try want.backward(seed: r)
                let (fx, fy, fs) = (leaf(x), leaf(y), leaf(s))
                let got = try Tensor.scaledResidual(fx, channelsLast: fy, scale: fs, sampleScale: k)
                try got.backward(seed: r)
                for (what, a, b) in [("output", got, want), ("x grad", fx.grad!, ux.grad!), ("y grad", fy.grad!, uy.grad!),
                                     ("scale grad", fs.grad!, us.grad!)] {
                    assertClose(a.toArray(), b.toArray().map(Double.init), "channels-last \(shape) k \(k != nil): \(what)", tol: what == "scale grad" ? 1e-5 : 2e-6)
                }
            }
        }
        let x = rnd([2, 3, 2, 3], seed: 44), y = rnd([2, 2, 3, 3], seed: 45), s = rnd([3], seed: 46)
        gradCheck("scaledResidual channels-last", [x, y, s]) {
            try Tensor.scaledResidual($0[0], channelsLast: $0[1], scale: $0[2], sampleScale: [0.5, 2])
        }
        XCTAssertThrowsError(try Tensor.scaledResidual(x, channelsLast: rnd([2, 3, 2, 3], seed: 47), scale: s))
    }

    func testLayerScaleOpsRejectOperandsThatDoNotFit() {
        let x = rnd([2, 3, 4, 4], seed: 15), s = rnd([3], seed: 16)
        XCTAssertThrowsError(try Tensor.poolMixer(x, normed: rnd([2, 3, 4, 5], seed: 17), scale: s))
        XCTAssertThrowsError(try Tensor.poolMixer(rnd([2, 3, 4], seed: 18), normed: rnd([2, 3, 4], seed: 18), scale: s))
        XCTAssertThrowsError(try Tensor.scaledResidual(x, x, scale: rnd([4], seed: 19)))
        XCTAssertThrowsError(try Tensor.scaledResidual(x, x, scale: s, sampleScale: [1, 1, 1]))
    }

    /// Group norm in float64 loops: output and the gradients of x, weight and bias for seed r.
    static func groupNormReference(_ x: Tensor, groups: Int, _ w: Tensor, _ b: Tensor, eps: Double, _ r: Tensor)
        -> (out: [Double], dx: [Double], dw: [Double], db: [Double]) {
        let n = x.shape[0], c = x.shape[1], hw = x.count / (n * c), cg = c / groups, d = cg * hw
        var out = [Double](repeating: 0, count: x.count), dx = out
        var dw = [Double](repeating: 0, count: c), db = dw
        for row in 0..<(n * groups) {
            let base = row * d
            let vals = (0..<d).map { Double(x.ptr[base + $0]) }
            let mu = vals.reduce(0, +) / Double(d)
            let rs = 1 / ((vals.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(d)) + eps).squareRoot()
            var gh = [Double](repeating: 0, count: d), xh = gh
            for j in 0..<d {
                let ch = (row % groups) * cg + j / hw
                xh[j] = (vals[j] - mu) * rs
                out[base + j] = xh[j] * Double(w.ptr[ch]) + Double(b.ptr[ch])
                let g = Double(r.ptr[base + j])
                gh[j] = g * Double(w.ptr[ch])
                dw[ch] += g * xh[j]
                db[ch] += g
            }
            let m1 = gh.reduce(0, +) / Double(d), m2 = zip(gh, xh).map { $0 * $1 }.reduce(0, +) / Double(d)
            for j in 0..<d { dx[base + j] = rs * (gh[j] - m1 - xh[j] * m2) }
        }
        return (out, dx, dw, db)
    }

    func testGroupNormMatchesFloat64Loops() throws {
        for (shape, groups) in [([2, 4, 3, 3], 1), ([2, 4, 3, 3], 2), ([3, 6, 1, 1], 3), ([2, 8, 56, 56], 1), ([1, 5, 7, 9], 5), ([4, 6], 2)] {
            // An offset mean, so that a formula that loses the centring shows.
            let x = rnd(shape, seed: 20, offset: 3), w = rnd([shape[1]], seed: 21, offset: 1), b = rnd([shape[1]], seed: 22)
            let r = rnd(shape, seed: 23, requiresGrad: false)
            let y = try Tensor.groupNorm(x, groups: groups, weight: w, bias: b, eps: 1e-5)
            try y.backward(seed: r)
            let ref = Self.groupNormReference(x, groups: groups, w, b, eps: 1e-5, r)
            assertClose(y.toArray(), ref.out, "group norm \(shape) groups \(groups)", tol: 1e-5)
            assertClose(x.grad!.toArray(), ref.dx, "group norm \(shape) groups \(groups): x grad", tol: 1e-4)
            assertClose(w.grad!.toArray(), ref.dw, "group norm \(shape) groups \(groups): weight grad", tol: 1e-4)
            assertClose(b.grad!.toArray(), ref.db, "group norm \(shape) groups \(groups): bias grad", tol: 1e-4)
        }
    }

    func testFusedOpsGiveTheSameBitsWithOneOrTwoThreads() throws {
        // Large enough that every loop splits over two threads.
        let shape = [4, 16, 56, 56]
        func run() throws -> [[Float]] {
            let x = rnd(shape, seed: 30, offset: 0.5), s1 = rnd([16], seed: 31), s2 = rnd([16], seed: 32)
            let w = rnd([16], seed: 33, offset: 1), b = rnd([16], seed: 34)
            let n1 = try Tensor.groupNorm(x, groups: 1, weight: w, bias: b)
            let h = try Tensor.poolMixer(x, normed: n1, scale: s1, sampleScale: [1, 0, 2, 1])
            let h2 = try Tensor.scaledResidual(h, Tensor.groupNorm(h, groups: 4, weight: w, bias: nil), scale: s2)
            let out = try Tensor.scaledResidual(h2, channelsLast: h2.permute([0, 2, 3, 1]), scale: s1, sampleScale: [2, 1, 0, 1])
            try out.backward(seed: rnd(shape, seed: 35, requiresGrad: false))
            return [out.toArray(), x.grad!.toArray(), s1.grad!.toArray(), s2.grad!.toArray(), w.grad!.toArray(), b.grad!.toArray()]
        }
        let one = try Backend.with({ $0.threads = 1 }) { try run() }
        let two = try Backend.with({ $0.threads = 2 }) { try run() }
        XCTAssertEqual(one, two)
    }
}
