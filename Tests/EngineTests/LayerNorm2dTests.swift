// layerNorm2d's tiled channels-first path (ConvMlp.swift's `layerNorm2dTiled`, with and without a
// graph) against the permute -> layerNorm -> permute chain it replaced. The tiled path must give
// the chain's values bit for bit (attacks' forward-only queries and their
// gradient passes must see the same logits), on maps whose pixel count is not a multiple of the
// 16-pixel tile and channel counts off the 16-lane vector, with and without the affine.
import XCTest
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

    func testGraphStillRecordedWhenAnInputNeedsIt() throws {
        let x = Tensor.randn([2, 16, 3, 3], rng: RNG(seed: 4))
        x.requiresGrad = true
        let y = try Tensor.layerNorm2d(x, weight: nil, bias: nil)
        try y.mul(y).sum().backward()
        XCTAssertNotNil(x.grad)
        XCTAssertThrowsError(try Tensor.layerNorm2d(x, weight: Tensor.randn([3]), bias: nil))
    }
}
