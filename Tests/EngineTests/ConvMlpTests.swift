// ConvNeXt's conv_mlp branch in the packed layout (Tensor/Ops/ConvMlp.swift) against the NCHW
// ops it replaces (layerNorm2d, conv2d 1x1, gelu, conv2d 1x1, scaledResidual): the same output
// and the same gradients bit for bit, with and without a graph, with drop-path factors, on maps
// from 1x1 to past the 2048 pixels where a 1x1 convolution stops batching images; finite
// differences for each new op; and the ConvNeXt model's logits and input gradient unchanged.
import XCTest
@testable import Engine
@testable import Tensor

// (`leaf`: LayerScaleTests.swift.)
private func bits(_ t: Tensor) -> [UInt32] { t.toArray().map { $0.bitPattern } }

final class ConvMlpTests: XCTestCase {
    /// (N, C, H, W): 1x1 maps, odd sizes, ConvNeXt's 8x8 and a map of 48x48 (2304 pixels: one
    /// image per product).
    let shapes: [[Int]] = [[3, 4, 1, 1], [2, 3, 3, 5], [5, 8, 8, 8], [2, 16, 4, 4], [1, 4, 48, 48]]

    struct Branch { let x, h, nw, nb, w1, b1, w2, b2, gamma: Tensor }

    func branch(_ s: [Int], seed: UInt64) -> Branch {
        let c = s[1]
        return Branch(x: rnd(s, seed: seed), h: rnd(s, seed: seed + 1, offset: 0.3),
                      nw: rnd([c], seed: seed + 2, offset: 1), nb: rnd([c], seed: seed + 3),
                      w1: rnd([4 * c, c, 1, 1], seed: seed + 4), b1: rnd([4 * c], seed: seed + 5),
                      w2: rnd([c, 4 * c, 1, 1], seed: seed + 6), b2: rnd([c], seed: seed + 7),
                      gamma: rnd([c], seed: seed + 8))
    }

    func leaves(_ b: Branch) -> [Tensor] { [b.x, b.h, b.nw, b.nb, b.w1, b.b1, b.w2, b.b2, b.gamma].map(leaf) }

    /// The branch with the NCHW ops, as ConvNeXtBlock ran it before.
    func nchw(_ t: [Tensor], _ k: [Float]?) throws -> Tensor {
        let y = try Tensor.layerNorm2d(t[1], weight: t[2], bias: t[3], eps: 1e-6)
        let z = try Tensor.conv2d(Tensor.conv2d(y, weight: t[4], bias: t[5]).gelu(), weight: t[6], bias: t[7])
        return try Tensor.scaledResidual(t[0], z, scale: t[8], sampleScale: k)
    }

    func packed(_ t: [Tensor], _ k: [Float]?) throws -> Tensor {
        let (n, h, w) = (t[1].shape[0], t[1].shape[2], t[1].shape[3])
        var p = try Tensor.layerNorm2dPacked(t[1], weight: t[2], bias: t[3], eps: 1e-6)
        p = try Tensor.pointwisePacked(p, weight: t[4], bias: t[5], images: n, height: h, width: w).gelu()
        p = try Tensor.pointwisePacked(p, weight: t[6], bias: t[7], images: n, height: h, width: w)
        return try Tensor.scaledResidual(t[0], packed: p, scale: t[8], sampleScale: k)
    }

    func testPackedBranchIsTheNCHWBranchBitForBit() throws {
        for (i, s) in shapes.enumerated() {
            let b = branch(s, seed: UInt64(10 * i + 1))
            for k in [nil, (0..<s[0]).map { Float($0 % 2) * 1.25 }] as [[Float]?] {
                let r = rnd(s, seed: 77, requiresGrad: false)
                let a = leaves(b), p = leaves(b)
                let oa = try nchw(a, k), op = try packed(p, k)
                XCTAssertEqual(bits(oa), bits(op), "\(s) forward")
                try oa.backward(seed: r)
                try op.backward(seed: r)
                for (j, (ta, tp)) in zip(a, p).enumerated() {
                    XCTAssertEqual(bits(ta.grad!), bits(tp.grad!), "\(s) gradient of input \(j), drop path \(k != nil)")
                }
                // without a graph (attacks' forward-only queries)
                let fa = try Autograd.noGrad { try nchw(a, k) }, fp = try Autograd.noGrad { try packed(p, k) }
                XCTAssertEqual(bits(fa), bits(fp), "\(s) forward without a graph")
            }
        }
    }

    /// layerNorm2d with a graph (tiles, no NHWC copies) against the NHWC permute and layerNorm
    /// it replaced: output and the gradients of x, weight and bias bit for bit.
    func testLayerNorm2dWithAGraphIsThePermutePathBitForBit() throws {
        for (i, s) in (shapes + [[300, 16, 8, 8]]).enumerated() {
            let c = s[1]
            let x0 = rnd(s, seed: UInt64(5 * i + 1), offset: 0.2), w0 = rnd([c], seed: UInt64(5 * i + 2), offset: 1)
            let b0 = rnd([c], seed: UInt64(5 * i + 3)), r = rnd(s, seed: 9, requiresGrad: false)
            let (xa, wa, ba) = (leaf(x0), leaf(w0), leaf(b0)), (xb, wb, bb) = (leaf(x0), leaf(w0), leaf(b0))
            let oa = try Tensor.layerNorm(xa.permute([0, 2, 3, 1]), weight: wa, bias: ba, eps: 1e-6).permute([0, 3, 1, 2])
            let ob = try Tensor.layerNorm2d(xb, weight: wb, bias: bb, eps: 1e-6)
            XCTAssertEqual(bits(oa), bits(ob), "\(s) forward")
            try oa.backward(seed: r)
            try ob.backward(seed: r)
            XCTAssertEqual(bits(xa.grad!), bits(xb.grad!), "\(s) x gradient")
            XCTAssertEqual(bits(wa.grad!), bits(wb.grad!), "\(s) weight gradient")
            XCTAssertEqual(bits(ba.grad!), bits(bb.grad!), "\(s) bias gradient")
        }
    }

    /// The packed branch's output and gradients do not depend on the thread count.
    func testPackedBranchIsTheSameWithOneTwoAndThreeThreads() throws {
        let s = [40, 16, 8, 8], b = branch(s, seed: 3), r = rnd(s, seed: 78, requiresGrad: false)
        let runs = try [1, 2, 3].map { t in
            try Backend.with({ $0.threads = t }) { () -> [[UInt32]] in
                let p = leaves(b)
                let o = try packed(p, nil)
                try o.backward(seed: r)
                return [bits(o)] + p.map { bits($0.grad!) }
            }
        }
        XCTAssertEqual(runs[0], runs[1], "1 vs 2 threads")
        XCTAssertEqual(runs[0], runs[2], "1 vs 3 threads")
    }

    func testPackedOpsAgreeWithFiniteDifferences() {
        let s = [2, 3, 2, 3], c = 3
        gradCheck("layerNorm2dPacked", [rnd(s, seed: 1), rnd([c], seed: 2, offset: 1), rnd([c], seed: 3)]) { t in
            try Tensor.layerNorm2dPacked(t[0], weight: t[1], bias: t[2], eps: 1e-6)
        }
        gradCheck("layerNorm2dChannelsLast", [rnd(s, seed: 1), rnd([c], seed: 2, offset: 1), rnd([c], seed: 3)]) { t in
            try Tensor.layerNorm2dChannelsLast(t[0], weight: t[1], bias: t[2], eps: 1e-6)
        }
        gradCheck("layerNorm2d tiled", [rnd(s, seed: 1), rnd([c], seed: 2, offset: 1), rnd([c], seed: 3)]) { t in
            try Tensor.layerNorm2d(t[0], weight: t[1], bias: t[2], eps: 1e-6)
        }
        gradCheck("pointwisePacked", [rnd([c, 12], seed: 4), rnd([5, c, 1, 1], seed: 5), rnd([5], seed: 6)]) { t in
            try Tensor.pointwisePacked(t[0], weight: t[1], bias: t[2], images: 2, height: 2, width: 3)
        }
        gradCheck("scaledResidual packed", [rnd(s, seed: 7), rnd([c, 12], seed: 8), rnd([c], seed: 9)]) { t in
            try Tensor.scaledResidual(t[0], packed: t[1], scale: t[2], sampleScale: [0.5, 2])
        }
    }

    func testPackedOpsRejectBadShapes() {
        XCTAssertThrowsError(try Tensor.layerNorm2dPacked(Tensor(zeros: [2, 3]), weight: nil, bias: nil, eps: 1e-6))
        XCTAssertThrowsError(try Tensor.pointwisePacked(Tensor(zeros: [3, 10]), weight: Tensor(zeros: [4, 3, 1, 1]), bias: nil,
                                                        images: 2, height: 2, width: 3))
        XCTAssertThrowsError(try Tensor.scaledResidual(Tensor(zeros: [2, 3, 2, 2]), packed: Tensor(zeros: [3, 7]), scale: Tensor(zeros: [3])))
    }

    /// The small ConvNeXt of the AutoAttack benchmark: its logits and input gradient with the
    /// packed branch equal those with the NCHW ops (`ConvNeXtBlock.packedBranch` off).
    func testConvNeXtLogitsAndInputGradientUnchanged() throws {
        var o = ModelOptions()
        o.depths = [1, 1, 1, 1]; o.dims = [16, 32, 64, 128]; o.image = 32; o.channels = 1; o.classes = 10
        let m = try Models.make("convnext_atto", o, rng: RNG(seed: 3))
        let x = Tensor.uniform([6, 1, 32, 32], low: 0, high: 1, rng: RNG(seed: 4))
        func run(packed: Bool) throws -> ([UInt32], [UInt32]) {
            try ConvNeXtBlock.withPackedBranch(packed) {
                try AttackMode.evaluating(m) {
                    let leafX = leaf(x)
                    let logits = try m.forward(leafX)
                    try logits.sum().backward()
                    return (bits(logits), bits(leafX.grad!))
                }
            }
        }
        let a = try run(packed: false), b = try run(packed: true)
        XCTAssertEqual(a.0, b.0, "logits")
        XCTAssertEqual(a.1, b.1, "input gradient")
    }
}
