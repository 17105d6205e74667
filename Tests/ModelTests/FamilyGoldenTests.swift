// A golden table of what `model(...)` builds, per family and option: the resolved configuration,
// parameter count, multiply-adds, a hash of the initial weights from a fixed seed, the per-model
// facts (restart batch limit, fixed input size, token grid, small-grid warning), and the exact
// output or error text of model() calls through the interpreter (timm names, option errors).
// Fixtures/family_golden.json was written by this test from the code before the model families
// were declared one per file (docs/architecture.md, "Adding a model"), so any change a script
// could see in how a configuration is resolved or a model initialised makes it fail.
//
// To rewrite the table after an intended change:
//   ADV_WRITE_FAMILY_GOLDEN=Tests/ModelTests/Fixtures/family_golden.json swift test --filter FamilyGoldenTests
import XCTest
import Foundation
@testable import Engine
@testable import Tensor

final class FamilyGoldenTests: XCTestCase {
    typealias Edit = (inout ModelOptions) -> Void

    /// The five study members at two budgets with token-grid parity (the study's configuration),
    /// every member at full size (counted only), and options that exercise each family rule.
    static func engineCases() -> [(label: String, name: String, build: Bool, edit: Edit)] {
        func small(_ o: inout ModelOptions) { o.image = 32; o.channels = 1; o.classes = 10 }
        var cases: [(label: String, name: String, build: Bool, edit: Edit)] = []
        let study = ["convnext_tiny", "swin_tiny", "poolformer_s36", "deit_small", "resnet50_gelu"]
        for name in study {
            for n in [2e5, 1e6] {
                cases.append(("\(name) params \(Int(n)) parity", name, true, { small(&$0); $0.params = n; $0.parity = true }))
            }
            cases.append(("\(name) params 300000 rgb", name, true, { $0.image = 32; $0.classes = 10; $0.params = 3e5 }))
            cases.append(("\(name) parity 64 width 0.125", name, true, { $0.image = 64; $0.classes = 10; $0.parity = true; $0.width = 0.125 }))
        }
        for name in ModelConfig.familyNames {
            cases.append(("\(name) full size", name, false, { _ in }))
            cases.append(("\(name) 32x32x1", name, false, small))
        }
        let variants: [(String, String, Edit)] = [
            ("convnext_tiny depths 2,2", "convnext_tiny", { small(&$0); $0.depths = [2, 2]; $0.width = 0.25 }),
            ("convnext_tiny dims", "convnext_tiny", { small(&$0); $0.dims = [16, 32, 48, 64]; $0.dropPath = 0.1 }),
            ("convnext_tiny patch 2", "convnext_tiny", { small(&$0); $0.patch = 2; $0.width = 0.125 }),
            ("convnext_atto width 0.3", "convnext_atto", { small(&$0); $0.width = 0.3 }),
            ("convnext_nano params 1e5", "convnext_nano", { small(&$0); $0.params = 1e5 }),
            ("swin_tiny heads 2", "swin_tiny", { small(&$0); $0.heads = [2]; $0.dims = [32] }),
            ("swin_tiny depths 2,2,2", "swin_tiny", { small(&$0); $0.depths = [2, 2, 2]; $0.width = 0.25 }),
            ("swin_tiny window 4 patch 2", "swin_tiny", { small(&$0); $0.window = 4; $0.patch = 2; $0.width = 0.125 }),
            ("swin_tiny params heads", "swin_tiny", { small(&$0); $0.params = 5e5; $0.heads = [2, 4, 8, 16] }),
            ("swin_base parity 48", "swin_base", { $0.image = 48; $0.classes = 10; $0.parity = true; $0.width = 0.125 }),
            ("deit_tiny patch 4", "deit_tiny", { small(&$0); $0.patch = 4; $0.width = 0.25 }),
            ("deit_tiny depth 4 dims 64", "deit_tiny", { small(&$0); $0.depths = [4]; $0.dims = [64]; $0.heads = [2] }),
            ("deit_base params 4e5 parity", "deit_base", { small(&$0); $0.params = 4e5; $0.parity = true }),
            ("deit_small parity patch 8", "deit_small", { small(&$0); $0.parity = true; $0.patch = 8; $0.width = 0.25 }),
            ("poolformer_s12 width 0.3", "poolformer_s12", { small(&$0); $0.width = 0.3 }),
            ("poolformer_s12 depths 1,1", "poolformer_s12", { small(&$0); $0.depths = [1, 1]; $0.width = 0.25 }),
            ("poolformer_m36 dims equal", "poolformer_m36", { small(&$0); $0.dims = [16, 16, 32, 32]; $0.depths = [1, 1, 1, 1] }),
            ("resnet18 relu stem 32", "resnet18", { small(&$0); $0.act = "relu"; $0.stem = 32; $0.width = 0.5 }),
            ("resnet50 params 1e6", "resnet50", { small(&$0); $0.params = 1e6 }),
            ("resnet34 depths 1,1,1", "resnet34", { small(&$0); $0.depths = [1, 1, 1]; $0.width = 0.25 }),
            ("resnet26 channels 2 mean std", "resnet26", { $0.image = 32; $0.channels = 2; $0.classes = 3; $0.mean = [0.3]; $0.std = [0.2, 0.25]; $0.width = 0.125 }),
        ]
        for (label, name, edit) in variants { cases.append((label, name, true, edit)) }
        return cases
    }

    /// Calls of model() through the interpreter: printed text, or the error (timm spellings, and
    /// an error for each rule a family declares).
    static let scriptCases: [String] = [
        "m = model(\"swin_tiny_patch4_window7_224\", classes: 10, width: 0.125)",
        "m = model(\"deit_small_patch16_224\", num_classes: 10, width: 0.125)",
        "m = model(\"convnext_tiny.fb_in1k\", img_size: 32, in_chans: 1, num_classes: 10, width: 0.125, pretrained: false)",
        "m = model(\"resnet50_gelu\", image: 32, channels: 1, classes: 10, params: 5e5, parity: true)",
        "m = model(\"poolformer_s36\", image: 32, channels: 1, classes: 10, params: 5e5, parity: true, drop_path_rate: 0.1)",
        "m = model(\"poolformer_s12\", patch: 4)",
        "m = model(\"resnet50\", patch: 4)",
        "m = model(\"convnext_tiny\", window: 4)",
        "m = model(\"deit_tiny\", act: \"relu\")",
        "m = model(\"swin_tiny\", stem: 32)",
        "m = model(\"deit_tiny\", depths: [2, 2])",
        "m = model(\"deit_tiny\", dims: [64, 128], depths: [2])",
        "m = model(\"swin_tiny\", heads: [3, 6])",
        "m = model(\"deit_tiny\", dims: [100], heads: [3])",
        "m = model(\"convnext_tiny\", image: 16)",
        "m = model(\"convnext_tiny\", image: 32, patch: 64)",
        "m = model(\"swin_tiny\", image: 32, patch: 40)",
        "m = model(\"convnext_tiny\", depths: [1, 1, 1, 1, 1, 1, 1])",
        "m = model(\"convnext_tiny\", image: 32, params: 3e5, width: 0.5)",
        "m = model(\"deit_tiny\", image: 32, params: 100)",
        "m = model(\"resnet18\", image: 8, params: 1e4)",
        "m = model(\"convnxt_tiny\")",
        "m = model(\"poolformer\")",
        "m = model(\"deit\")",
        "m = model(\"swin_tiny\", image: 32, channels: 1, classes: 10, width: 0.125)\nm(rand(1, 1, 64, 64))",
        "m = model(\"convnext_atto\", image: 32, channels: 1, classes: 10, width: 0.125)\nprint(m(rand(1, 1, 64, 64)).shape)",
        "print(models())",
    ]

    /// FNV-1a over every parameter's and buffer's name, shape and float bits, in state-dict order.
    static func weightHash(_ n: Network) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ b: UInt8) { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        for e in n.store.params + n.store.buffers {
            e.name.utf8.forEach(mix)
            for d in e.tensor.shape { withUnsafeBytes(of: Int64(d).littleEndian) { $0.forEach(mix) } }
            let p = e.tensor.ptr
            for i in 0..<e.tensor.count { withUnsafeBytes(of: p[i].bitPattern.littleEndian) { $0.forEach(mix) } }
        }
        return String(h, radix: 16)
    }

    /// What one engine case gives, as strings by field.
    static func record(_ name: String, build: Bool, _ edit: Edit) -> [String: String] {
        var o = ModelOptions()
        edit(&o)
        do {
            let c = try Models.configure(name, o)
            var r = ["config": c.json, "params": String(try Models.countParams(c)),
                     "grid": String(c.stemGridSide), "warning": Models.warnSmallGrid(c) ?? "-"]
            guard build else { return r }
            let m = try Models.build(c, rng: RNG(seed: 7))
            r["weights"] = weightHash(m)
            r["macs"] = String(try m.macs())
            r["restart_limit"] = String(m.restartBatchLimit)
            r["fixed_input"] = String(m.fixedInputSize)
            r["tree"] = m.treeDescription
            return r
        } catch {
            return ["error": "\(error)"]
        }
    }

    static func scriptRecord(_ code: String) -> [String: String] {
        let (out, err) = runModelScript("seed(7)\n" + code + "\nprint(params(m))\nprint(flops(m))\nprint(m)")
        return ["out": out, "error": err ?? "-"]
    }

    func testModelsMatchTheGoldenTable() throws {
        var table: [String: [String: String]] = [:]
        for c in Self.engineCases() { table["engine: " + c.label] = Self.record(c.name, build: c.build, c.edit) }
        for code in Self.scriptCases { table["script: " + code] = Self.scriptRecord(code) }
        if let path = ProcessInfo.processInfo.environment["ADV_WRITE_FAMILY_GOLDEN"] {
            let d = try JSONSerialization.data(withJSONObject: table, options: [.sortedKeys, .prettyPrinted])
            try d.write(to: URL(fileURLWithPath: path))
            return
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: try fixturePath("family_golden.json")))
        let golden = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: [String: String]])
        XCTAssertEqual(Set(golden.keys), Set(table.keys), "the cases changed; rewrite the table only for an intended change")
        for (label, want) in golden.sorted(by: { $0.key < $1.key }) {
            guard let got = table[label] else { continue }
            for (field, value) in want.sorted(by: { $0.key < $1.key }) {
                XCTAssertEqual(got[field], value, "\(label): \(field)")
            }
            XCTAssertEqual(Set(got.keys), Set(want.keys), label)
        }
    }
}
