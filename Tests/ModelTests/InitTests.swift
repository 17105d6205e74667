// The initial weights of the transformers against timm 1.0.x's init (docs/models.md,
// "Initialisation"): VisionTransformer.init_weights and SwinTransformer.init_weights (mode '')
// re-initialise Linear layers only (init_weights_vit_timm: trunc_normal std .02, zero bias), DeiT's
// pos_embed is trunc_normal .02 and its cls_token normal 1e-6, and the patch embedding keeps
// PyTorch's default Conv2d init: weight and bias uniform on +-1/sqrt(C * patch^2), so std
// bound/sqrt(3). Measured in timm for the study's DeiT (dim 28, patch 4, 1 channel; issue 17):
// patch weight std 0.145, max 0.250, bias std 0.160. adv used trunc_normal .02 with zero bias there.
import XCTest
@testable import Engine
@testable import Tensor

final class InitTests: XCTestCase {
    /// The study's small configuration of `name` (32x32, 1 channel, 10 classes, 120K, parity).
    func studyModel(_ name: String) throws -> [String: Tensor] {
        var o = ModelOptions()
        o.image = 32; o.channels = 1; o.classes = 10; o.params = 1.2e5; o.parity = true
        let m = try Models.make(name, o, rng: RNG(seed: 0))
        return Dictionary(uniqueKeysWithValues: m.parameters().map { ($0.name, $0.tensor) })
    }

    func stats(_ t: Tensor) -> (std: Double, maxAbs: Double, mean: Double) {
        let v = (0..<t.count).map { Double(t.ptr[$0]) }
        let mean = v.reduce(0, +) / Double(v.count)
        let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)
        return (variance.squareRoot(), v.map(abs).max() ?? 0, mean)
    }

    /// The patch embedding's weight and bias are uniform on +-1/sqrt(fan_in) as PyTorch's default.
    func checkPatchEmbed(_ p: [String: Tensor], model: String) throws {
        let w = try XCTUnwrap(p["patch_embed.proj.weight"], model)
        let b = try XCTUnwrap(p["patch_embed.proj.bias"], model)
        let fanIn = w.shape[1] * w.shape[2] * w.shape[3]
        let bound = 1 / Double(fanIn).squareRoot()
        let ws = stats(w), bs = stats(b)
        XCTAssertLessThanOrEqual(ws.maxAbs, bound, model)
        XCTAssertGreaterThan(ws.maxAbs, 0.9 * bound, "\(model): weight max \(ws.maxAbs), bound \(bound)")
        XCTAssertEqual(ws.std, bound / 3.0.squareRoot(), accuracy: 0.1 * bound, "\(model): patch weight std")
        XCTAssertLessThanOrEqual(bs.maxAbs, bound, model)
        XCTAssertGreaterThan(bs.std, 0.3 * bound, "\(model): patch bias std \(bs.std) (timm's is not zero)")
    }

    func testDeiTInitMatchesTimm() throws {
        let p = try studyModel("deit_small")
        try checkPatchEmbed(p, model: "deit_small")
        XCTAssertEqual(stats(try XCTUnwrap(p["pos_embed"])).std, 0.02, accuracy: 0.002)
        XCTAssertEqual(stats(try XCTUnwrap(p["cls_token"])).std, 1e-6, accuracy: 2e-7)
        for name in ["blocks.0.attn.qkv.weight", "blocks.5.mlp.fc1.weight", "head.weight"] {
            XCTAssertEqual(stats(try XCTUnwrap(p[name])).std, 0.02, accuracy: 0.002, name)
        }
        for name in ["blocks.0.attn.qkv.bias", "blocks.5.mlp.fc2.bias", "head.bias"] {
            XCTAssertEqual(stats(try XCTUnwrap(p[name])).maxAbs, 0, name)
        }
    }

    func testSwinPatchEmbedMatchesTimm() throws {
        try checkPatchEmbed(try studyModel("swin_tiny"), model: "swin_tiny")
    }

    /// ConvNeXt and PoolFormer initialise every conv (their stems too) with trunc_normal .02 and a
    /// zero bias in timm (_init_weights); that stays.
    func testConvStemsKeepTruncNormal() throws {
        for (model, stem) in [("convnext_tiny", "stem.0"), ("poolformer_s36", "stem.conv")] {
            let p = try studyModel(model)
            let w = try XCTUnwrap(p["\(stem).weight"], model)
            XCTAssertEqual(stats(w).std, 0.02, accuracy: 0.003, model)
            XCTAssertEqual(stats(try XCTUnwrap(p["\(stem).bias"], model)).maxAbs, 0, model)
        }
    }
}
