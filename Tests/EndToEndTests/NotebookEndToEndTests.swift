import Foundation
import XCTest

/// `adv notebook` from the command line, and the REPL drawing a figure and writing :report.
final class NotebookEndToEndTests: XCTestCase {
    func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("adv-nb-e2e-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    func testNotebookCommandWritesTheReportAndFailsLikeAScript() throws {
        let d = try tempDir()
        defer { try? FileManager.default.removeItem(at: d) }
        try """
            # %% [markdown]
            # # Title
            # %% one
            print("hello", args)
            plot([1, 2, 3])
            # %% two
            print(nosuch)
            # %% three
            print("never")
            """.write(to: d.appendingPathComponent("nb.adv"), atomically: true, encoding: .utf8)
        let r = try runAdv(["notebook", "nb.adv", "x", "y"], cwd: d)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.stdout, "hello [\"x\", \"y\"]\n", "printed text also goes to the terminal")
        XCTAssertTrue(r.stderr.contains("adv notebook: wrote nb.html"), r.stderr)
        XCTAssertTrue(r.stderr.contains("nb.adv:7:7: error: unknown name 'nosuch'"), r.stderr)
        let html = try String(contentsOf: d.appendingPathComponent("nb.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<h1>Title</h1>"))
        XCTAssertTrue(html.contains("data-status=\"not run\""))
        XCTAssertTrue(html.contains("<svg"))

        let md = try runAdv(["notebook", "nb.adv", "-o", "out.md"], cwd: d)
        XCTAssertEqual(md.status, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: d.appendingPathComponent("out_files/figure-1.svg").path))
        let bad = try runAdv(["notebook", "nb.adv", "-o", "out.pdf"], cwd: d)
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("must end in .html or .md"), bad.stderr)
        let missing = try runAdv(["notebook", "missing.adv"], cwd: d)
        XCTAssertEqual(missing.status, 2)
        // The same file as a script: the markers are comments.
        let script = try runAdv(["nb.adv"], cwd: d)
        XCTAssertEqual(script.status, 1)
        XCTAssertEqual(script.stdout, "hello []\n")
    }

    func testREPLDrawsAFigureAndWritesAReport() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { throw XCTSkip("tmux is not installed (make deps installs it)") }
        guard let adv = advExecutable(),
              let driver = Bundle.module.url(forResource: "Scripts", withExtension: nil)?.appendingPathComponent("repl_report.sh") else {
            return XCTFail("adv or Scripts/repl_report.sh missing")
        }
        let home = try tempDir()
        defer { try? FileManager.default.removeItem(at: home) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [driver.path, adv.path, home.path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let screen = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, screen)
        // Braille dots, the title centred in the 100-column terminal, the legend.
        let braille = screen.unicodeScalars.filter { $0.value > 0x2800 && $0.value <= 0x28FF }.count
        XCTAssertGreaterThan(braille, 30, screen)
        XCTAssertTrue(screen.contains(String(repeating: " ", count: 40) + "Squares"), screen)
        XCTAssertTrue(screen.contains("━━ squares"), screen)
        XCTAssertTrue(screen.contains("wrote 3 inputs to"), screen)
        let html = try String(contentsOf: home.appendingPathComponent("session.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("data-label=\"squares\""))
        XCTAssertTrue(html.contains("printed text"))
        XCTAssertTrue(html.contains("plot([1, 2, 3, 4]"))
    }
}
