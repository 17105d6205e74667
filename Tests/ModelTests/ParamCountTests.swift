// Parameter counts against timm (params.json from scripts/fixtures/gen_models.py and docs/reference.md),
// and the parameter-budget search.
import XCTest
import Foundation
@testable import Engine
@testable import Tensor

final class ParamCountTests: XCTestCase {
    func expected() throws -> [String: [String: Int]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: try fixturePath("params.json")))
        let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var out: [String: [String: Int]] = [:]
        for (k, v) in o { if let d = v as? [String: Int] { out[k] = d } }
        return out
    }

    /// The five numbers of docs/reference.md section 1.
    func testReferenceCounts() throws {
        let ref = ["convnext_tiny": 28_589_128, "swin_tiny": 28_288_354, "poolformer_s36": 30_862_760,
                   "deit_small": 22_050_664, "resnet50_gelu": 25_557_032]
        for (name, n) in ref {
            XCTAssertEqual(try Models.countParams(try Models.configure(name, ModelOptions())), n, name)
        }
    }

    /// Every family member at full size and at 32x32x1 with 10 classes, as timm counts it.
    func testFamilyCountsMatchTimm() throws {
        let e = try expected()
        let full = try XCTUnwrap(e["full"]), small = try XCTUnwrap(e["small"])
        XCTAssertEqual(Set(full.keys), Set(ModelConfig.familyNames))
        for name in ModelConfig.familyNames {
            XCTAssertEqual(try Models.countParams(Models.configure(name, ModelOptions())), full[name], "\(name) full size")
            var o = ModelOptions()
            o.image = 32; o.channels = 1; o.classes = 10
            XCTAssertEqual(try Models.countParams(Models.configure(name, o)), small[name], "\(name) 32x32x1, 10 classes")
        }
        var relu = ModelOptions()
        relu.act = "relu"
        XCTAssertEqual(try Models.countParams(Models.configure("resnet50", relu)), e["relu"]?["resnet50"])
    }

    /// The dry (count-only) build agrees with an allocated one.
    func testDryCountEqualsBuiltModel() throws {
        for name in ["convnext_atto", "swin_tiny", "poolformer_s12", "deit_tiny", "resnet18"] {
            var o = ModelOptions()
            o.image = 32; o.classes = 10; o.width = 0.25
            let c = try Models.configure(name, o)
            let m = try Models.build(c, rng: RNG(seed: 0))
            XCTAssertEqual(m.parameterCount, try Models.countParams(c), name)
            XCTAssertEqual(m.parameters().count, Set(m.parameters().map(\.name)).count, "\(name): duplicate names")
        }
    }

    /// `params: N` lands within 3% for all five and N from 0.2M to 100M.
    func testBudgetWithinThreePercent() throws {
        let budgets: [Double] = [2e5, 5e5, 1e6, 3e6, 1e7, 3e7, 1e8]
        for name in ["convnext_tiny", "swin_tiny", "poolformer_s36", "deit_small", "resnet50_gelu"] {
            for n in budgets {
                var o = ModelOptions()
                o.image = 32; o.channels = 1; o.classes = 10; o.params = n
                let c = try Models.configure(name, o)
                let got = Double(try Models.countParams(c))
                XCTAssertLessThanOrEqual(abs(got - n) / n, 0.03, "\(name) at \(n): \(got) params, dims \(c.dims)")
                for (d, h) in zip(c.dims, c.heads) { XCTAssertEqual(d % h, 0, "\(name): heads \(c.heads) dims \(c.dims)") }
            }
        }
    }

    /// The budget search at full size (224, 1000 classes) and with user heads.
    func testBudgetAtFullSizeAndWithHeads() throws {
        for name in ["convnext_tiny", "swin_tiny", "poolformer_s36", "deit_small", "resnet50_gelu"] {
            var o = ModelOptions()
            o.params = 5e6
            let got = Double(try Models.countParams(Models.configure(name, o)))
            XCTAssertLessThanOrEqual(abs(got - 5e6) / 5e6, 0.03, "\(name) full size at 5M: \(got)")
        }
        var o = ModelOptions()
        o.image = 32; o.classes = 10; o.params = 2e6; o.heads = [3, 6, 12, 24]
        let c = try Models.configure("swin_tiny", o)
        XCTAssertEqual(c.heads, [3, 6, 12, 24])
        XCTAssertTrue(zip(c.dims, c.heads).allSatisfy { $0 % $1 == 0 }, "\(c.dims)")
    }

    func testUnknownNamesSuggest() {
        for (typo, want) in [("convnxt_tiny", "convnext_tiny"), ("convnext", "convnext_tiny"), ("swin", "swin_tiny"),
                             ("resnet50gelu", "resnet50_gelu"), ("poolformer", "poolformer_s36")] {
            XCTAssertThrowsError(try ModelConfig.named(typo)) { e in
                XCTAssertTrue("\(e)".contains("did you mean '\(want)'"), "\(typo): \(e)")
            }
        }
    }

    func testNoWeightDecayNames() throws {
        var o = ModelOptions()
        o.image = 32; o.classes = 10; o.width = 0.125
        XCTAssertEqual(Set(try Models.make("deit_tiny", o, rng: RNG(seed: 0)).noWeightDecay), ["pos_embed", "cls_token"])
        let swin = try Models.make("swin_tiny", o, rng: RNG(seed: 0))
        XCTAssertEqual(swin.noWeightDecay.count, 12)
        XCTAssertTrue(try Models.make("resnet18", o, rng: RNG(seed: 0)).noWeightDecay.isEmpty)
    }

    /// An absurd configuration is refused before anything is allocated.
    func testHugeModelRefused() {
        var o = ModelOptions()
        o.dims = [8192, 8192, 8192, 8192]; o.depths = [20, 20, 20, 20]
        XCTAssertThrowsError(try Models.make("convnext_tiny", o)) { e in
            XCTAssertTrue("\(e)".contains("exceeds the limit"), "\(e)")
        }
    }

    func testBudgetErrors() throws {
        var o = ModelOptions()
        o.params = 1e6; o.width = 0.5
        XCTAssertThrowsError(try Models.configure("convnext_tiny", o)) { e in
            XCTAssertTrue("\(e)".contains("at most one of dims:, width: and params:"), "\(e)")
        }
        o.width = nil
        o.params = 10
        XCTAssertThrowsError(try Models.configure("convnext_tiny", o))
        // When no width can work, the real cause is reported, not the budget.
        o.params = 3e5; o.image = 16
        XCTAssertThrowsError(try Models.configure("convnext_tiny", o)) { e in
            XCTAssertTrue("\(e)".contains("image 16 is too small"), "\(e)")
        }
    }
}
