// The model builtins through the interpreter: model(), params, flops, printing, summary, modes,
// precision, save/load_weights and their errors.
import XCTest
import Foundation
import Lang
@testable import Runtime
@testable import Engine
@testable import Tensor

/// Runs code in a fresh interpreter; returns what it printed and the error text (if any).
func runModelScript(_ code: String) -> (out: String, err: String?) {
    var out = ""
    let interp = Interpreter(args: [], output: { out += $0 })
    do {
        try interp.run(SourceFile(name: "t.adv", text: code))
        return (out, nil)
    } catch let e as ScriptError {
        return (out, e.render())
    } catch {
        return (out, "\(error)")
    }
}

final class ModelBuiltinsTests: XCTestCase {
    func run(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        let (out, err) = runModelScript(code)
        XCTAssertNil(err, "unexpected error: \(err ?? "")", file: file, line: line)
        return out
    }

    func testModelParamsAndLogits() {
        let out = run("""
        m = model("convnext_atto", image: 32, channels: 1, classes: 10, width: 0.25)
        print(params(m))
        y = m(rand(3, 1, 32, 32))
        print(y.shape)
        print(params(model("resnet50_gelu")))
        """)
        let lines = out.split(separator: "\n")
        XCTAssertEqual(lines.count, 3, out)
        XCTAssertEqual(lines.last, "25557032")
        XCTAssertTrue(out.contains("[3, 10]"), out)
    }

    func testBudgetThroughBuiltin() throws {
        let out = run("""
        for a in ["convnext_tiny", "swin_tiny", "poolformer_s36", "deit_small", "resnet50_gelu"] {
          print(params(model(a, params: 1e6, image: 32, channels: 1, classes: 10)))
        }
        """)
        for l in out.split(separator: "\n") {
            let n = try XCTUnwrap(Double(l))
            XCTAssertLessThanOrEqual(abs(n - 1e6) / 1e6, 0.03, out)
        }
    }

    func testPrintingSummaryAndFlops() {
        let out = run("""
        m = model("resnet18", image: 32, classes: 10, width: 0.25)
        print(m)
        m.summary()
        print(flops(m) == m.flops())
        """)
        XCTAssertTrue(out.contains("resnet18 (3x32x32 -> 10 classes"), out)
        XCTAssertTrue(out.contains("├─ layer1"), out)
        XCTAssertTrue(out.contains("layer4.1") && out.contains("[1, 128, 1, 1]"), out)
        XCTAssertTrue(out.contains("total:"), out)
        XCTAssertTrue(out.hasSuffix("true\n"), out)
    }

    /// The summary's rows of `out` as (name, params, MACs), and the total multiply-adds of its last line.
    func summaryTable(_ out: String) throws -> (rows: [(String, Int, Int)], total: Int) {
        var rows: [(String, Int, Int)] = []
        var total = -1
        for l in out.split(separator: "\n").map(String.init) {
            if l.hasPrefix("total: ") {
                let parts = l.split(separator: ",")[1].split(separator: " ")
                total = try XCTUnwrap(Int(parts[0]), l)
                continue
            }
            // name  [shape]  params  macs
            guard let open = l.firstIndex(of: "["), let close = l.firstIndex(of: "]"), !l.hasPrefix(" ") else { continue }
            let name = l[..<open].trimmingCharacters(in: .whitespaces)
            let nums = l[l.index(after: close)...].split(separator: " ").compactMap { Int($0) }
            guard !name.contains(":"), nums.count == 2 else { continue }
            rows.append((name, nums[0], nums[1]))
        }
        return (rows, total)
    }

    func testSummaryPrintsMultiplyAddsPerLayer() throws {
        // The doc promised multiply-adds; the table printed none.
        let out = run("""
        m = model("resnet18", image: 32, classes: 10, width: 0.25)
        m.summary()
        print(flops(m))
        m.summary(64)
        """)
        let parts = out.components(separatedBy: "resnet18: input")
        XCTAssertEqual(parts.count, 3, out)
        let at32 = try summaryTable(parts[1]), at64 = try summaryTable(parts[2])
        XCTAssertTrue(out.contains("params    MACs"), out)
        // The rows partition the pass: they sum to flops(m) at the built size.
        let flops = try XCTUnwrap(Int(parts[1].split(separator: "\n").last ?? ""))
        XCTAssertEqual(at32.total, flops)
        XCTAssertEqual(at32.rows.reduce(0) { $0 + $1.2 }, flops)
        // Closed forms: stem conv 7x7/2 3->16 on 32x32 gives 16x16 outputs; fc 128 -> 10.
        XCTAssertEqual(at32.rows.first?.0, "stem")
        XCTAssertEqual(at32.rows.first?.2, 16 * 16 * 16 * 3 * 49)
        XCTAssertEqual(at32.rows.last?.0, "fc")
        XCTAssertEqual(at32.rows.last?.2, 128 * 10)
        XCTAssertTrue(out.contains("multiply-adds (2.77M) for one 32x32 image"), out)
        // At side 64 every convolution does 4x the work; the classifier the same.
        XCTAssertEqual(at64.total, (flops - 1280) * 4 + 1280)
    }

    func testTransformerSummariesShowTheFinalNormAsItsOwnRow() throws {
        // timm's SwinTransformer and VisionTransformer have `norm` as a top-level module beside `head`;
        // the summary counted it under head.
        for (arch, last) in [("swin_tiny", "layers.3.blocks.1"), ("deit_small", "blocks.11")] {
            let out = run("""
            m = model("\(arch)", image: 32, channels: 1, classes: 10, params: 1e5)
            m.summary()
            print(params(m))
            """)
            let t = try summaryTable(out)
            let names = t.rows.map(\.0)
            XCTAssertEqual(Array(names.suffix(3)), [last, "norm", "head"], out)
            let norm = t.rows[t.rows.count - 2], head = t.rows[t.rows.count - 1]
            // LayerNorm(C): weight and bias; head Linear(C, 10); no multiply-adds counted for a norm.
            XCTAssertEqual(norm.1 % 2, 0)
            let c = norm.1 / 2
            XCTAssertEqual(head.1, c * 10 + 10, out)
            XCTAssertEqual(head.2, c * 10, out)
            XCTAssertEqual(norm.2, 0)
            XCTAssertEqual(t.rows.reduce(0) { $0 + $1.1 }, Int(out.split(separator: "\n").last ?? "") ?? -1, "rows cover every parameter")
        }
    }

    /// flops counts multiply-adds: a closed form for a ResNet-18 at 224 (1.81 G as in the literature).
    func testFlopsResNet18() throws {
        let m = try Models.make("resnet18", rng: RNG(seed: 0))
        let g = Double(try m.macs()) / 1e9
        XCTAssertEqual(g, 1.81, accuracy: 0.02)
    }

    func testModesAndPrecision() {
        let out = run("""
        m = model("resnet18", image: 32, classes: 10, width: 0.25)
        print(m.training)
        m.train()
        print(m.training)
        m.eval()
        print(m.training)
        m.precision("bf16")
        print(m.precision())
        x = rand(2, 3, 32, 32)
        print(m(x).shape)
        """)
        XCTAssertEqual(out, "false\ntrue\nfalse\nbf16\n[2, 10]\n")
    }

    /// bf16 changes the logits a little, fp32 is restored exactly.
    func testPrecisionAffectsForward() throws {
        var o = ModelOptions()
        o.image = 32; o.classes = 10; o.width = 0.25
        let m = try Models.make("deit_tiny", o, rng: RNG(seed: 0))
        let x = Tensor.rand([2, 3, 32, 32], rng: RNG(seed: 1))
        let a = try m.forward(x).toArray()
        m.precision = .bf16
        let b = try m.forward(x).toArray()
        m.precision = .fp32
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(scaledError(b, a), 0, accuracy: 0.05)
        XCTAssertEqual(try m.forward(x).toArray(), a)
        XCTAssertEqual(Precision.current, .fp32)
    }

    /// Drop path is active only in training mode; evaluation is deterministic.
    func testDropPathOnlyInTraining() throws {
        var o = ModelOptions()
        o.image = 32; o.classes = 10; o.width = 0.25; o.dropPath = 0.5
        let m = try Models.make("convnext_atto", o, rng: RNG(seed: 0))
        for p in m.parameters() where p.name.hasSuffix("gamma") { p.tensor.ptr.update(repeating: 1, count: p.tensor.count) }
        let x = Tensor.rand([4, 3, 32, 32], rng: RNG(seed: 1))
        XCTAssertEqual(try m.forward(x).toArray(), try m.forward(x).toArray())
        m.isTraining = true
        XCTAssertNotEqual(try m.forward(x).toArray(), try m.forward(x).toArray())
    }

    func testSaveLoadBuiltins() throws {
        let path = NSTemporaryDirectory() + "adv-model-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let out = run("""
        a = model("poolformer_s12", image: 32, classes: 10, width: 0.25)
        b = model("poolformer_s12", image: 32, classes: 10, width: 0.25)
        x = rand(2, 3, 32, 32)
        save(a, "\(path)")
        load_weights(b, "\(path)")
        print((a(x) - b(x)).abs().max().item())
        """)
        XCTAssertEqual(out, "0\n")
        let (_, err) = runModelScript("""
        c = model("poolformer_s12", image: 32, classes: 7, width: 0.25)
        load_weights(c, "\(path)")
        """)
        XCTAssertTrue(err?.contains("head.fc.weight: file [10, 128], model [7, 128]") ?? false, err ?? "no error")
    }

    func testArgumentErrors() {
        XCTAssertTrue(runModelScript("model(\"resnet50\", clases: 10)").err?.contains("did you mean 'classes'") ?? false)
        XCTAssertTrue(runModelScript("model(\"deit_smal\")").err?.contains("did you mean 'deit_small'") ?? false)
        XCTAssertTrue(runModelScript("model(\"swin_tiny\", dims: [96, 192, 384, 768], heads: [5, 6, 12, 24])").err?.contains("not divisible by 5 heads") ?? false)
        XCTAssertTrue(runModelScript("model(\"resnet50\", window: 7)").err?.contains("window: applies to swin only") ?? false)
        XCTAssertTrue(runModelScript("m = model(\"deit_tiny\", image: 32, patch: 8)\nm(rand(1, 3, 64, 64))").err?.contains("built for 32x32 images") ?? false)
        XCTAssertTrue(runModelScript("m = model(\"resnet18\", image: 32, width: 0.25)\nm(rand(1, 1, 32, 32))").err?.contains("(N, 3, H, W)") ?? false)
        XCTAssertTrue(runModelScript("params(3)").err?.contains("must be a model") ?? false)
    }
}
