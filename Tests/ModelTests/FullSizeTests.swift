// Full-size forward/gradient comparison against timm (outside CI: the fixtures are ~100 MB each).
//
//   for a in convnext_tiny swin_tiny poolformer_s36 deit_small resnet50_gelu; do
//     /tmp/advref/bin/python scripts/fixtures/gen_models.py --full $a /tmp/adv-full; done
//   ADV_FULL_FIXTURES=/tmp/adv-full swift test -c release --filter FullSizeTests
import XCTest
import Foundation
@testable import Engine
@testable import Tensor

final class FullSizeTests: XCTestCase {
    func check(_ arch: String) throws {
        guard let dir = ProcessInfo.processInfo.environment["ADV_FULL_FIXTURES"] else {
            throw XCTSkip("set ADV_FULL_FIXTURES to a directory made by gen_models.py --full (see docs/models.md)")
        }
        let io = dir + "/\(arch).io.safetensors", w = dir + "/\(arch).weights.safetensors"
        guard FileManager.default.fileExists(atPath: io) else { throw XCTSkip("\(io) not generated") }
        let (t, _) = try Safetensors.read(io)
        let m = try Models.make(arch, rng: RNG(seed: 0))
        try m.loadWeights(from: w)
        let x = try XCTUnwrap(t["x"]).copy()
        x.requiresGrad = true
        let logits = try m.forward(x)
        let e = scaledError(logits.toArray(), try XCTUnwrap(t["logits"]).toArray())
        XCTAssertLessThan(e, 1e-4, "\(arch): logits scaled error \(e)")
        let labels = try XCTUnwrap(t["labels"]).toArray().map { Int($0) }
        try Tensor.crossEntropy(logits, labels: labels).mul(scalar: Float(labels.count)).backward()
        let g = scaledError(try XCTUnwrap(x.grad).toArray(), try XCTUnwrap(t["dx"]).toArray())
        XCTAssertLessThan(g, 1e-4, "\(arch): input gradient scaled error \(g)")
        print("\(arch): logits scaled error \(e), dx scaled error \(g)")
    }

    func testConvNeXtTiny() throws { try check("convnext_tiny") }
    func testSwinTiny() throws { try check("swin_tiny") }
    func testPoolFormerS36() throws { try check("poolformer_s36") }
    func testDeiTSmall() throws { try check("deit_small") }
    func testResNet50GELU() throws { try check("resnet50_gelu") }
}
