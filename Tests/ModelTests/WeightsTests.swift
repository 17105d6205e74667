// save/load_weights: round trip, timm names and dtypes, and the loading errors.
import XCTest
import Foundation
@testable import Engine
@testable import Tensor

final class WeightsTests: XCTestCase {
    var dir = ""
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "adv-weights-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func small(_ name: String, seed: UInt64 = 1) throws -> Network {
        var o = ModelOptions()
        o.image = 32; o.classes = 10; o.width = 0.125
        if name.hasPrefix("deit") { o.patch = 8 }
        return try Models.make(name, o, rng: RNG(seed: seed))
    }

    /// save then load into a differently initialised model gives identical logits, for all five.
    func testRoundTrip() throws {
        for name in ["convnext_atto", "swin_tiny", "poolformer_s12", "deit_tiny", "resnet50_gelu"] {
            let a = try small(name, seed: 1), b = try small(name, seed: 2)
            if name.hasPrefix("resnet") {  // make running statistics non-trivial
                a.isTraining = true
                _ = try Autograd.noGrad { try a.forward(Tensor.rand([4, 3, 32, 32], rng: RNG(seed: 3))) }
                a.isTraining = false
            }
            let path = dir + "/\(name).safetensors"
            try a.saveWeights(to: path)
            try b.loadWeights(from: path)
            let x = Tensor.rand([2, 3, 32, 32], rng: RNG(seed: 4))
            XCTAssertEqual(try a.forward(x).toArray(), try b.forward(x).toArray(), name)
            for (p, q) in zip(a.buffers(), b.buffers()) { XCTAssertEqual(p.tensor.toArray(), q.tensor.toArray(), p.name) }
        }
    }

    /// Our state dict has exactly timm's names, and num_batches_tracked is stored as int64.
    func testNamesAndDtypesMatchTimm() throws {
        for fixture in ["convnext", "convnext_atto", "swin", "poolformer", "deit", "resnet"] {
            let (entries, _) = try Safetensors.readEntries(try fixturePath("\(fixture).weights.safetensors"))
            let (io, meta) = try Safetensors.read(try fixturePath("\(fixture).io.safetensors"))
            _ = io
            let m = try Models.build(Models.configure(json: XCTUnwrap(meta["config"])), rng: RNG(seed: 0))
            let path = dir + "/\(fixture).safetensors"
            try m.saveWeights(to: path)
            let (ours, ourMeta) = try Safetensors.readEntries(path)
            XCTAssertEqual(Set(ours.keys), Set(entries.keys), fixture)
            for (k, e) in entries { XCTAssertEqual(ours[k]?.dtype, e.dtype, "\(fixture) \(k)") }
            for (k, e) in entries { XCTAssertEqual(ours[k]?.tensor.shape, e.tensor.shape, "\(fixture) \(k)") }
            XCTAssertEqual(try Models.configure(json: XCTUnwrap(ourMeta["config"])), m.config)
        }
    }

    /// Missing, unexpected and mis-shaped tensors are all named; the model is left unchanged.
    func testLoadErrorsNameEveryProblem() throws {
        let m = try small("convnext_atto")
        var sd: [String: Tensor] = [:]
        for e in m.stateDict() { sd[e.name] = e.tensor.copy() }
        sd["stem.0.weight"] = nil
        sd["head.fc.bias"] = nil
        sd["stages.9.blocks.0.gamma"] = Tensor(zeros: [4])
        sd["head.fc.weight"] = Tensor(zeros: [11, m.config.dims[3]])
        let gamma = try XCTUnwrap(sd["stages.0.blocks.0.gamma"])
        gamma.ptr[0] = 42
        let path = dir + "/bad.safetensors"
        try Safetensors.write(sd.map { ($0.key, $0.value, Safetensors.DType.f32) }, to: path)
        let before = m.parameters().map { $0.tensor.toArray() }
        XCTAssertThrowsError(try m.loadWeights(from: path)) { e in
            let s = "\(e)"
            XCTAssertTrue(s.contains("2 missing"), s)
            XCTAssertTrue(s.contains("stem.0.weight") && s.contains("head.fc.bias"), s)
            XCTAssertTrue(s.contains("1 unexpected") && s.contains("stages.9.blocks.0.gamma"), s)
            let c = m.config.dims[3]
            XCTAssertTrue(s.contains("head.fc.weight: file [11, \(c)], model [10, \(c)]"), s)
            XCTAssertTrue(s.contains(path), s)
        }
        XCTAssertEqual(m.parameters().map { $0.tensor.toArray() }, before, "a failed load must not change the model")
    }

    func testLoadMissingAndCorruptFiles() throws {
        let m = try small("resnet18")
        XCTAssertThrowsError(try m.loadWeights(from: dir + "/nope.safetensors")) { e in
            XCTAssertTrue("\(e)".contains("no such file"), "\(e)")
        }
        // a header length far past the end of the file
        var bytes = Data([0xff, 0xff, 0xff, 0x00, 0, 0, 0, 0])
        bytes.append(contentsOf: Array("{}".utf8))
        try bytes.write(to: URL(fileURLWithPath: dir + "/evil.safetensors"))
        XCTAssertThrowsError(try m.loadWeights(from: dir + "/evil.safetensors"))
        // a truncated real file
        let path = dir + "/ok.safetensors"
        try m.saveWeights(to: path)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: dir + "/cut.safetensors"))
        XCTAssertThrowsError(try m.loadWeights(from: dir + "/cut.safetensors"))
        // NaN weights are refused
        var sd: [String: Tensor] = [:]
        for e in m.stateDict() { sd[e.name] = e.tensor.copy() }
        sd["fc.bias"]?.ptr[0] = .nan
        XCTAssertThrowsError(try m.loadWeights(sd, source: "nan")) { e in XCTAssertTrue("\(e)".contains("fc.bias"), "\(e)") }
    }

    /// A checkpoint without num_batches_tracked (older PyTorch) still loads, as in PyTorch.
    func testOptionalNumBatchesTracked() throws {
        let m = try small("resnet18")
        var sd: [String: Tensor] = [:]
        for e in m.stateDict() where !e.name.hasSuffix("num_batches_tracked") { sd[e.name] = e.tensor.copy() }
        XCTAssertNoThrow(try m.loadWeights(sd, source: "old"))
    }
}
