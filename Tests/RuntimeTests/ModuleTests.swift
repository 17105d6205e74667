import XCTest
import Lang
@testable import Runtime

final class ModuleTests: XCTestCase {
    func testUseLoadsOncePerSessionAndBindsModule() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("advmod-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "print(\"loading helpers\")\nfn double(x) { return 2 * x }\nrate = 0.5\n_hidden = 1\n"
            .write(to: dir.appendingPathComponent("helpers.adv"), atomically: true, encoding: .utf8)
        try "use helpers\nuse helpers\nuse \"helpers.adv\" as h\nprint(helpers.double(4), h.rate, helpers == h)\n"
            .write(to: dir.appendingPathComponent("main.adv"), atomically: true, encoding: .utf8)
        var out = ""
        let interp = Interpreter(output: { out += $0 })
        try interp.run(try SourceLoader.load(path: dir.appendingPathComponent("main.adv").path))
        XCTAssertEqual(out, "loading helpers\n8 0.5 true\n")

        // ADV_PATH-style search paths and error messages.
        let i2 = Interpreter(output: { _ in })
        i2.searchPaths = [dir.path]
        XCTAssertNoThrow(try i2.run(SourceFile(name: "<repl>", text: "use helpers\nx = helpers.rate")))
        XCTAssertThrowsError(try i2.run(SourceFile(name: "<repl>", text: "helpers.rat"))) { e in
            XCTAssertTrue("\(e)".contains("module 'helpers' has no 'rat'; did you mean 'rate'?"), "\(e)")
        }
        XCTAssertThrowsError(try i2.run(SourceFile(name: "<repl>", text: "use nosuchmodule"))) { e in
            XCTAssertTrue("\(e)".contains("no module 'nosuchmodule'"), "\(e)")
        }
    }

    func testSyntaxErrorInModuleIsReportedWithItsFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("advmod2-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.adv")
        try "x = (1 +\n".write(to: bad, atomically: true, encoding: .utf8)
        let interp = Interpreter(output: { _ in })
        XCTAssertThrowsError(try interp.run(SourceFile(name: "<repl>", text: "use \"\(bad.path)\""))) { e in
            XCTAssertTrue(e is Diagnostics, "\(e)")
            XCTAssertTrue("\(e)".hasPrefix(bad.path + ":"), "\(e)")
        }
    }

    /// The stdlib built into the binary (scripts/embed_stdlib.sh) equals stdlib/*.adv, and `use`
    /// falls back to it when no file is found, so a copied binary keeps `use recipes`.
    func testEmbeddedStdlibMatchesTheFilesAndLoads() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = repo.appendingPathComponent("stdlib")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".adv") }
        XCTAssertEqual(Set(files.map { String($0.dropLast(4)) }), Set(EmbeddedStdlib.files.keys),
                       "stdlib/ changed: run scripts/embed_stdlib.sh")
        for f in files {
            let text = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
            XCTAssertEqual(EmbeddedStdlib.files[String(f.dropLast(4))].map { $0 + "\n" }, text,
                           "\(f) differs from its embedded copy: run scripts/embed_stdlib.sh")
        }
        var out = ""
        let interp = Interpreter(output: { out += $0 })
        interp.searchPaths = []  // nothing on disk: only the built-in copy can answer
        try interp.run(SourceFile(name: "<repl>", text: "use recipes\nprint(len(recipes.archs))\n"))
        XCTAssertEqual(out, "5\n")
    }
}
