// Logits and input gradients of the five architectures against timm 1.0.31 on small configurations
// (fixtures made by scripts/fixtures/gen_models.py with fixed random weights).
import XCTest
@testable import Engine
@testable import Tensor

/// Fixture file path inside the test bundle.
func fixturePath(_ name: String) throws -> String {
    guard let url = Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil) else {
        throw EngineError.io("fixture \(name) not found in the test bundle")
    }
    return url.path
}

/// max |a - b| / max(floor, max |b|): relative to the scale of the reference.
func scaledError(_ a: [Float], _ b: [Float], floor: Float = 1e-12) -> Float {
    let scale = max(floor, b.map { abs($0) }.max() ?? 0)
    return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
}

final class ModelFixtureTests: XCTestCase {
    /// Builds the fixture's model from its metadata, loads its weights, and compares logits and dx.
    func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (io, meta) = try Safetensors.read(try fixturePath("\(name).io.safetensors"))
        let config = try Models.configure(json: XCTUnwrap(meta["config"]))
        let m = try Models.build(config, rng: RNG(seed: 1))
        try m.loadWeights(from: try fixturePath("\(name).weights.safetensors"))
        m.isTraining = false
        let x = try XCTUnwrap(io["x"]).copy()
        x.requiresGrad = true
        let labels = try XCTUnwrap(io["labels"]).toArray().map { Int($0) }
        let logits = try m.forward(x)
        let ref = try XCTUnwrap(io["logits"])
        XCTAssertEqual(logits.shape, ref.shape, file: file, line: line)
        let e = scaledError(logits.toArray(), ref.toArray())
        XCTAssertLessThan(e, 1e-4, "\(name): logits differ from timm (scaled error \(e))", file: file, line: line)
        // d(sum of cross entropy)/dx = N * d(mean)/dx
        let loss = try Tensor.crossEntropy(logits, labels: labels).mul(scalar: Float(labels.count))
        try loss.backward()
        let dx = try XCTUnwrap(x.grad)
        let g = scaledError(dx.toArray(), try XCTUnwrap(io["dx"]).toArray())
        XCTAssertLessThan(g, 1e-4, "\(name): input gradient differs from timm (scaled error \(g))", file: file, line: line)
        // gradients of the small parameters (norms, biases, layer scales, position tables, ...)
        let params = Dictionary(uniqueKeysWithValues: m.parameters().map { ($0.name, $0.tensor) })
        var checked = 0
        for (key, ref) in io where key.hasPrefix("grad.") {
            let pname = String(key.dropFirst(5))
            guard let p = params[pname] else { XCTFail("\(name): no parameter \(pname)", file: file, line: line); continue }
            let pg = try XCTUnwrap(p.grad, "\(name): no gradient reached \(pname)", file: file, line: line)
            // A gradient that is exactly zero in theory (PoolFormer's norm1.bias: pool(b) - b = 0) is
            // float noise in both; compare it at the scale of the input gradient instead.
            let ep = scaledError(pg.toArray(), ref.toArray(), floor: 1e-3)
            XCTAssertLessThan(ep, 1e-4, "\(name): gradient of \(pname) differs (scaled error \(ep))", file: file, line: line)
            checked += 1
        }
        XCTAssertGreaterThan(checked, 10, "\(name): too few parameter gradients in the fixture", file: file, line: line)
        if let t = io["logits_train"] {
            m.isTraining = true
            let lt = try Autograd.noGrad { try m.forward(x.detached()) }
            let et = scaledError(lt.toArray(), t.toArray())
            XCTAssertLessThan(et, 1e-4, "\(name): train-mode logits differ (scaled error \(et))", file: file, line: line)
            // running statistics updated like PyTorch's (momentum 0.1, unbiased variance, count + 1)
            var buffers = 0
            for b in m.buffers() {
                let ref = try XCTUnwrap(io["after_train." + b.name], "\(name): \(b.name) missing in fixture")
                XCTAssertLessThan(scaledError(b.tensor.toArray(), ref.toArray()), 1e-5, "\(name): \(b.name) after a training batch",
                                  file: file, line: line)
                buffers += 1
            }
            XCTAssertGreaterThan(buffers, 0)
        }
    }

    /// The comparison is sensitive: one perturbed weight (a BatchNorm running variance) breaks it.
    func testPerturbedWeightIsDetected() throws {
        let (io, meta) = try Safetensors.read(try fixturePath("resnet.io.safetensors"))
        let m = try Models.build(try Models.configure(json: XCTUnwrap(meta["config"])), rng: RNG(seed: 1))
        var (w, _) = try Safetensors.read(try fixturePath("resnet.weights.safetensors"))
        let v = try XCTUnwrap(w["layer3.0.bn2.running_var"]).copy()
        v.ptr[0] *= 1.5
        w["layer3.0.bn2.running_var"] = v
        try m.loadWeights(w, source: "perturbed")
        let logits = try m.forward(try XCTUnwrap(io["x"]))
        XCTAssertGreaterThan(scaledError(logits.toArray(), try XCTUnwrap(io["logits"]).toArray()), 1e-4)
    }

    func testConvNeXt() throws { try check("convnext") }
    func testConvNeXtConvMlp() throws { try check("convnext_atto") }
    func testSwin() throws { try check("swin") }
    func testSwinPaddedWindows() throws { try check("swin_pad") }
    func testPoolFormer() throws { try check("poolformer") }
    func testDeiT() throws { try check("deit") }
    func testResNetBottleneckGELU() throws { try check("resnet") }
    func testResNetBasicReLU() throws { try check("resnet_basic") }
}
