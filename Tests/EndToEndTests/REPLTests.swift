import Foundation
import XCTest

/// Drives the REPL through a pseudo-terminal with tmux (a private server socket).
final class REPLTests: XCTestCase {
    /// Multi-line input, a mistake with its caret and work going on, completion (fields,
    /// variables, paths), `;`, Ctrl-C during evaluation and at the prompt, :vars, :save; then
    /// the saved session runs as a script with the same output. Driven by Scripts/repl_session.sh.
    func testInteractiveSession() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("adv-repl-home-\(getpid())")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        try "print(1)\n".write(to: home.appendingPathComponent("completion_target_file.adv"), atomically: true, encoding: .utf8)
        let (status, screen) = try drive("repl_session.sh", home: home)
        XCTAssertEqual(status, 0, screen)
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
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("adv-repl-int-\(getpid())")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        let (status, screen) = try drive("repl_interrupt.sh", home: home)
        XCTAssertEqual(status, 0, screen)
        XCTAssertEqual(screen.components(separatedBy: "interrupted (variables are kept)").count - 1, 3, screen)
        XCTAssertFalse(screen.contains("error: interrupted"), "an interruption printed as an error\n" + screen)
        XCTAssertTrue(screen.contains("kept: 42 resnet18 4000"), screen)
        XCTAssertTrue(screen.contains("adv> x = pgd(eps: 4/255)"), screen)
    }

    /// Runs the tmux driver Scripts/`script` on the adv executable with HOME at `home`; returns its
    /// exit status and the final screen it printed. Skips when tmux is missing; fails when adv or the
    /// driver is.
    func drive(_ script: String, home: URL) throws -> (status: Int32, screen: String) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            throw XCTSkip("tmux is not installed (make deps installs it)")
        }
        guard let adv = advExecutable(),
              let driver = Bundle.module.url(forResource: "Scripts", withExtension: nil)?.appendingPathComponent(script) else {
            throw NSError(domain: "REPLTests", code: 1, userInfo: [NSLocalizedDescriptionKey: "adv next to the test bundle or Scripts/\(script) is missing"])
        }
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
        return (p.terminationStatus, screen)
    }
}
