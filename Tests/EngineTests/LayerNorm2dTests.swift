// layerNorm2d's tiled channels-first path (ConvMlp.swift's `layerNorm2dTiled`, with and without a
// graph) against the permute -> layerNorm -> permute chain it replaced, and its channels-last
// output (`layerNorm2dChannelsLast`) against permute -> layerNorm. The tiled path must give
// the chain's values bit for bit (attacks' forward-only queries and their
// gradient passes must see the same logits), on maps whose pixel count is not a multiple of the
// 16-pixel tile and channel counts off the 16-lane vector, with and without the affine.
import XCTest
import CKernels
@testable import Tensor

final class LayerNorm2dTests: XCTestCase {
    func testTiledPathEqualsThePermutePathBitForBit() throws {
        for shape in [[3, 16, 8, 8], [2, 5, 3, 7], [4, 128, 1, 1], [1, 40, 5, 5], [2, 33, 4, 4]] {
            let c = shape[1]
            let x = Tensor.randn(shape, rng: RNG(seed: 1))
            let w = Tensor.randn([c], rng: RNG(seed: 2)), b = Tensor.randn([c], rng: RNG(seed: 3))
            for (weight, bias) in [(w, b), (w, nil), (nil, b), (nil, nil)] as [(Tensor?, Tensor?)] {
                for threads in [1, 2] {
                    try Backend.with({ $0.threads = threads }) {
                        let chain = try Tensor.layerNorm(x.permute([0, 2, 3, 1]), weight: weight, bias: bias, eps: 1e-6)
                            .permute([0, 3, 1, 2])
                        let tiled = try Autograd.noGrad { try Tensor.layerNorm2d(x, weight: weight, bias: bias, eps: 1e-6) }
                        XCTAssertEqual(tiled.shape, shape)
                        XCTAssertEqual(tiled.toArray(), chain.toArray(), "\(shape) weight \(weight != nil) bias \(bias != nil)")
                    }
                }
            }
        }
    }

    /// `layerNorm2dChannelsLast` (ConvNeXt's block norm without conv_mlp) against the permute ->
    /// layerNorm chain it replaced: the output and the gradients of x, weight and bias bit for
    /// bit, at 1 and 2 threads (the weight/bias sums must run in the same chunks and order).
    func testChannelsLastEqualsThePermuteChainBitForBit() throws {
        func run(_ shape: [Int], channelsLast: Bool) throws -> [[Float]] {
            let c = shape[1]
            let x = Tensor.randn(shape, rng: RNG(seed: 1)), seed = Tensor.randn([shape[0], shape[2], shape[3], c], rng: RNG(seed: 4))
            let w = Tensor.randn([c], rng: RNG(seed: 2)), b = Tensor.randn([c], rng: RNG(seed: 3))
            for t in [x, w, b] { t.requiresGrad = true }
            let y = channelsLast
                ? try Tensor.layerNorm2dChannelsLast(x, weight: w, bias: b, eps: 1e-6)
                : try Tensor.layerNorm(x.permute([0, 2, 3, 1]), weight: w, bias: b, eps: 1e-6)
            try y.backward(seed: seed)
            return [y.toArray(), x.grad!.toArray(), w.grad!.toArray(), b.grad!.toArray()]
        }
        for shape in [[3, 16, 8, 8], [2, 5, 3, 7], [4, 128, 1, 1], [2, 96, 20, 20], [2, 33, 4, 4]] {
            for threads in [1, 2] {
                try Backend.with({ $0.threads = threads }) {
                    let tiled = try run(shape, channelsLast: true), chain = try run(shape, channelsLast: false)
                    for (i, what) in ["output", "x grad", "weight grad", "bias grad"].enumerated() {
                        XCTAssertEqual(tiled[i], chain[i], "\(shape) \(what), \(threads) threads")
                    }
                }
            }
        }
        let nograd = try Autograd.noGrad { try Tensor.layerNorm2dChannelsLast(Tensor.randn([2, 5, 3, 7], rng: RNG(seed: 1)), weight: nil, bias: nil, eps: 1e-6) }
        XCTAssertEqual(nograd.shape, [2, 3, 7, 5])
        XCTAssertThrowsError(try Tensor.layerNorm2dChannelsLast(Tensor(zeros: [2, 3]), weight: nil, bias: nil, eps: 1e-6))
        XCTAssertThrowsError(try Tensor.layerNorm2dChannelsLast(Tensor(zeros: [2, 3, 2, 2]), weight: Tensor(zeros: [4]), bias: nil, eps: 1e-6))
    }

    /// CKernels/pixeltile.c against the plain loops: every tile width 1...16, channel counts with
    /// and without a remainder past the 16-channel blocks; the scatter leaves pixels past m alone.
    func testPixelTileKernelsAreThePlainLoops() {
        for c in [5, 16, 33, 96] {
            for m in 1...16 {
                let ld = 37
                let src = (0..<(c * ld)).map { Float($0) * 0.5 - 3 }
                var got = [Float](repeating: .nan, count: m * c), want = got
                for p in 0..<m { for ch in 0..<c { want[p * c + ch] = src[ch * ld + p] } }
                adv_gather_pixels(src, ld, c, m, &got)
                XCTAssertEqual(got, want, "gather c \(c) m \(m)")
                var back = [Float](repeating: -1, count: c * ld), wantBack = back
                for ch in 0..<c { for p in 0..<m { wantBack[ch * ld + p] = want[p * c + ch] } }
                adv_scatter_pixels(want, c, m, &back, ld)
                XCTAssertEqual(back, wantBack, "scatter c \(c) m \(m)")
            }
        }
    }

    func testGraphStillRecordedWhenAnInputNeedsIt() throws {
        let x = Tensor.randn([2, 16, 3, 3], rng: RNG(seed: 4))
        x.requiresGrad = true
        let y = try Tensor.layerNorm2d(x, weight: nil, bias: nil)
        try y.mul(y).sum().backward()
        XCTAssertNotNil(x.grad)
        XCTAssertThrowsError(try Tensor.layerNorm2d(x, weight: Tensor.randn([3]), bias: nil))
    }
}
