import Foundation
import XCTest

/// Drives the REPL through a pseudo-terminal with tmux (a private server socket).
final class REPLTests: XCTestCase {
    /// Multi-line input, a mistake with its caret and work going on, completion (fields,
    /// variables, paths), `;`, Ctrl-C during evaluation and at the prompt, :vars, :save; then
    /// the saved session runs as a script with the same output. Driven by Scripts/repl_session.sh.
    func testInteractiveSession() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            throw XCTSkip("tmux is not installed (make deps installs it)")
        }
        guard let adv = advExecutable() else { return XCTFail("adv executable not found next to the test bundle") }
        guard let driver = Bundle.module.url(forResource: "Scripts", withExtension: nil)?.appendingPathComponent("repl_session.sh") else {
            return XCTFail("Scripts/repl_session.sh missing")
        }
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("adv-repl-home-\(getpid())")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        try "print(1)\n".write(to: home.appendingPathComponent("completion_target_file.adv"), atomically: true, encoding: .utf8)

        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [driver.path, adv.path, home.path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let screen = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, screen)
        XCTAssertTrue(screen.contains("pirnt(y)\n^~~~~"), screen)
        XCTAssertTrue(screen.contains("adv> rec.alpha\n1\n"), screen)
        XCTAssertTrue(screen.contains("adv> unique_variable_name\n5\n"), screen)
        XCTAssertTrue(screen.contains("completion_target_file.adv\""), screen)
        XCTAssertFalse(screen.contains("\n100\n"), "a trailing ; must suppress the value\n" + screen)
        XCTAssertFalse(screen.contains("this is not code\n<repl>"), "Ctrl-C at the prompt must drop the line\n" + screen)

        // The saved session runs as a script with the same output.
        let r = try runAdv([home.appendingPathComponent("session.adv").path])
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, "16\n17\n1\n5\n32\nafter\n")
        let history = (try? String(contentsOf: home.appendingPathComponent(".adv_history"), encoding: .utf8)) ?? ""
        XCTAssertTrue(history.contains("fn sq(x) { return x * x }"), history)
    }

    /// Ctrl-C inside evaluate, fit and an attack call is an interruption, not an error, and the
    /// variables survive; Tab completes a keyword argument. Driven by Scripts/repl_interrupt.sh.
    func testCtrlCInsideBuiltinsKeepsVariables() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            throw XCTSkip("tmux is not installed (make deps installs it)")
        }
        guard let adv = advExecutable() else { return XCTFail("adv executable not found next to the test bundle") }
        guard let driver = Bundle.module.url(forResource: "Scripts", withExtension: nil)?.appendingPathComponent("repl_interrupt.sh") else {
            return XCTFail("Scripts/repl_interrupt.sh missing")
        }
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("adv-repl-int-\(getpid())")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [driver.path, adv.path, home.path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let screen = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, screen)
        XCTAssertEqual(screen.components(separatedBy: "interrupted (variables are kept)").count - 1, 3, screen)
        XCTAssertFalse(screen.contains("error: interrupted"), "an interruption printed as an error\n" + screen)
        XCTAssertTrue(screen.contains("kept: 42 resnet18 4000"), screen)
        XCTAssertTrue(screen.contains("adv> x = pgd(eps: 4/255)"), screen)
    }
}
