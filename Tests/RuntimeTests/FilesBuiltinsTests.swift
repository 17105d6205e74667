import Engine
import Tensor
import Foundation
import XCTest
@testable import Runtime

/// save_json/load_json, save_csv/load_csv, read_text/write_text, save_tensors/load_tensors,
/// save_image/load_image: round trips, atomic writes, and clear errors for bad files.
final class FilesBuiltinsTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "adv-files-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func p(_ name: String) -> String { dir + "/" + name }

    func testJSONRoundTripKeepsOrderAndValues() throws {
        let out = output("""
            rows = [{model: "b", clean: 0.1, robust: -3e-7, ok: true, none: nil, nested: {z: 1, a: [1, "x\\n\\"y\\""]}}, {model: "é ☃"}]
            save_json(rows, "\(p("r.json"))")
            back = load_json("\(p("r.json"))")
            print(back == rows)
            print(keys(back[0]))
            save_json({t: tensor([[1, 2], [3, 4]])}, "\(p("t.json"))", pretty: false)
            print(read_text("\(p("t.json"))"))
            """)
        XCTAssertEqual(out, "true\n[\"model\", \"clean\", \"robust\", \"ok\", \"none\", \"nested\"]\n{\"t\":[[1,2],[3,4]]}\n\n")
    }

    func testJSONErrorsNameFileLineAndReason() throws {
        try Data("{\"a\": 1,\n \"b\": [1, 2,]}".utf8).write(to: URL(fileURLWithPath: p("bad.json")))
        XCTAssertEqual(errorLine("load_json(\"\(p("bad.json"))\")"), "t.adv:1:1: error: \(p("bad.json")):2:13: not valid JSON: unexpected character")
        try Data([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D]).write(to: URL(fileURLWithPath: p("latin.json")))
        XCTAssertTrue(errorLine("load_json(\"\(p("latin.json"))\")").contains("not valid UTF-8 (byte 0xff at offset 6)"))
        XCTAssertTrue(errorLine("load_json(\"\(p("missing.json"))\")").contains("load_json: cannot read \(p("missing.json")): no such file"))
        XCTAssertTrue(errorLine("save_json(print, \"\(p("f.json"))\")").contains("value is a builtin, which JSON cannot hold"))
        XCTAssertTrue(errorLine("save_json([1, {a: fn(x) { return x }}], \"\(p("f.json"))\")").contains("value[1].a is a function"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: p("f.json")), "nothing is written when encoding fails")
    }

    func testUnwritablePathIsAClearErrorAndLeavesNothing() throws {
        let target = p("no/such/folder/r.json")
        XCTAssertTrue(errorLine("save_json([1], \"\(target)\")").contains("save_json: cannot write \(target): folder"))
        // An existing file survives a failed write untouched.
        _ = output("write_text(\"old\", \"\(p("keep.txt"))\")")
        XCTAssertNotNil(runScript("save_json([print], \"\(p("keep.txt"))\")").err)
        XCTAssertEqual(try String(contentsOfFile: p("keep.txt"), encoding: .utf8), "old")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [])
    }

    func testCSVRoundTripQuotingAndSweepRows() throws {
        let out = output("""
            rows = [{model: "a,b", clean: 50.5, note: "say \\"hi\\"\\nbye"}, {model: "c", clean: nil, extra: true}]
            save_csv(rows, "\(p("r.csv"))")
            print(read_text("\(p("r.csv"))"))
            back = load_csv("\(p("r.csv"))")
            print(back[0] == {model: "a,b", clean: 50.5, note: "say \\"hi\\"\\nbye", extra: nil}, back[1].extra, back[1].clean)
            save_csv({model: "m", eps: [0, 0.5], robust: [90, 10], warnings: []}, "\(p("s.csv"))")
            print(read_text("\(p("s.csv"))"))
            """)
        XCTAssertEqual(out, """
            model,clean,note,extra
            "a,b",50.5,"say ""hi""
            bye",
            c,,,true

            true true nil
            model,eps,robust,warnings
            m,0,90,[]
            m,0.5,10,[]


            """)
    }

    func testCSVErrors() throws {
        try Data("a,b\n1,2\n3\n".utf8).write(to: URL(fileURLWithPath: p("ragged.csv")))
        XCTAssertTrue(errorLine("load_csv(\"\(p("ragged.csv"))\")").contains("\(p("ragged.csv")):3: not valid CSV: 1 cells but the header has 2"))
        try Data("a,b\n\"1,2\n".utf8).write(to: URL(fileURLWithPath: p("open.csv")))
        XCTAssertTrue(errorLine("load_csv(\"\(p("open.csv"))\")").contains("a quoted cell is not closed"))
        try Data([0x61, 0x0A, 0xC3, 0x28, 0x0A]).write(to: URL(fileURLWithPath: p("bin.csv")))
        XCTAssertTrue(errorLine("load_csv(\"\(p("bin.csv"))\")").contains("not valid UTF-8 (byte 0xc3 at offset 2)"))
        XCTAssertTrue(errorLine("save_csv([1, 2], \"\(p("x.csv"))\")").contains("save_csv: element 1 of 'rows' must be a record, got number"))
    }

    func testTensorsRoundTripAndTruncatedFile() throws {
        let out = output("""
            seed(1)
            a = randn(2, 3)
            save_tensors({weight: a, bias: tensor([1, 2])}, "\(p("t.safetensors"))")
            t = load_tensors("\(p("t.safetensors"))")
            print(keys(t), t.weight.shape, (t.weight - a).abs().max().item(), t.bias.tolist())
            """)
        XCTAssertEqual(out, "[\"bias\", \"weight\"] [2, 3] 0 [1, 2]\n")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: p("t.safetensors")))
        try bytes.prefix(bytes.count - 5).write(to: URL(fileURLWithPath: p("cut.safetensors")))
        XCTAssertTrue(errorLine("load_tensors(\"\(p("cut.safetensors"))\")").contains("cut.safetensors: not a valid safetensors file"))
        XCTAssertTrue(errorLine("save_tensors({a: 1}, \"\(p("x.safetensors"))\")").contains("save_tensors: field 'a' must be a tensor, got number"))
    }

    func testImagesRoundTripAndTruncatedPNG() throws {
        let out = output("""
            seed(2)
            x = rand(3, 5, 7)
            save_image(x, "\(p("x.png"))")
            y = load_image("\(p("x.png"))")
            print(y.shape, (y - x).abs().max().item() <= 0.5 / 255 + 1e-6)
            save_image(rand(1, 1, 4, 4), "\(p("g.png"))")
            print(load_image("\(p("g.png"))").shape, load_image("\(p("g.png"))", channels: 3).shape)
            """)
        XCTAssertEqual(out, "[3, 5, 7] true\n[1, 4, 4] [3, 4, 4]\n")
        let png = try Data(contentsOf: URL(fileURLWithPath: p("x.png")))
        try png.prefix(png.count / 2).write(to: URL(fileURLWithPath: p("cut.png")))
        XCTAssertTrue(errorLine("load_image(\"\(p("cut.png"))\")").contains("cut.png is not a valid PNG"))
        XCTAssertTrue(errorLine("save_image(rand(2, 5, 5), \"\(p("bad.png"))\")").contains("save_image: the image must be C x H x W with C = 1 or 3"))
    }

    func testEvaluateStyleRowsSaveDirectly() throws {
        // The records evaluate() and sweep() return (nested lists and records) save as they are.
        let out = output("""
            row = {model: "m", precision: "fp32", params: 1000, clean: 50, robust: 40, drop: -20, attack: "PGD-5",
                   attacks: [{name: "PGD-5", robust: 40, drop: -20}], images: 10, seconds: 1.5, warnings: []}
            save_json([row], "\(p("e.json"))")
            print(load_json("\(p("e.json"))") == [row])
            save_csv([row], "\(p("e.csv"))")
            print(load_csv("\(p("e.csv"))")[0].attacks)
            """)
        XCTAssertEqual(out, "true\n[{\"name\":\"PGD-5\",\"robust\":40,\"drop\":-20}]\n")
    }
}
