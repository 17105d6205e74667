import Foundation
import XCTest

/// Drives the REPL through a pseudo-terminal with tmux (a private server socket).
final class REPLTests: XCTestCase {
    /// Runs the tmux driver Scripts/NAME with the built adv and `dir`; returns what it printed
    /// (the final screens) and its exit status. Skips when tmux is missing.
    func drive(_ name: String, dir: URL) throws -> (String, Int32) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            throw XCTSkip("tmux is not installed (make deps installs it)")
        }
        guard let adv = advExecutable() else {
            throw NSError(domain: "REPLTests", code: 2, userInfo: [NSLocalizedDescriptionKey: "adv executable not found next to the test bundle"])
        }
        guard let driver = Bundle.module.url(forResource: "Scripts", withExtension: nil)?.appendingPathComponent(name) else {
            throw NSError(domain: "REPLTests", code: 1, userInfo: [NSLocalizedDescriptionKey: "Scripts/\(name) missing"])
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [driver.path, adv.path, dir.path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (text, p.terminationStatus)
    }

    /// Multi-line input, a mistake with its caret and work going on, completion (fields,
    /// variables, paths), `;`, Ctrl-C during evaluation and at the prompt, :vars, :save; then
    /// the saved session runs as a script with the same output. Driven by Scripts/repl_session.sh.
    func testInteractiveSession() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("adv-repl-home-\(getpid())")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        try "print(1)\n".write(to: home.appendingPathComponent("completion_target_file.adv"), atomically: true, encoding: .utf8)
        let (screen, status) = try drive("repl_session.sh", dir: home)
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

    /// Two REPLs open at once sharing ADV_HISTFILE keep both sessions' lines (each input is
    /// appended, not the whole list rewritten); `_` is the last shown value; `adv -i FILE`
    /// runs FILE and opens the REPL with its variables; `:help` shows docstrings, also through
    /// a dotted path. Driven by Scripts/repl_habits.sh.
    func testHistoryTwoSessionsUnderscoreAndInteractive() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adv-repl-habits-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (screens, status) = try drive("repl_habits.sh", dir: dir)
        XCTAssertEqual(status, 0, screens)
        let parts = screens.components(separatedBy: "=====")
        XCTAssertEqual(parts.count, 2, screens)
        guard parts.count == 2 else { return }
        XCTAssertTrue(parts[0].contains("adv> len(_) * 111\n222\n"), parts[0])
        XCTAssertTrue(parts[1].contains("adv> script_var + 1\n42\n"), parts[1])
        XCTAssertTrue(parts[1].contains("adv> _ * 10\n420\n"), parts[1])
        XCTAssertTrue(parts[1].contains("adv> twice(_)\n840\n"), parts[1])
        XCTAssertTrue(parts[1].contains("adv> :help twice\ntwice(v)\n  Doubles v.\n  defined at setup.adv:3:1\n"), parts[1])
        XCTAssertTrue(parts[0].contains("adv> :help recipes.study\nstudy(arch, epochs = 3, batch = 128, workers = ranks())\n  The study's recipe"), parts[0])

        let history = (try? String(contentsOf: dir.appendingPathComponent("hist/adv_history"), encoding: .utf8)) ?? ""
        for entry in ["first_from_a = 1", "first_from_b = 2", "second_from_a = 3", "script_var + 1", "len(_) * 111"] {
            XCTAssertTrue(history.contains(entry + "\n"), "history lost '\(entry)':\n" + history)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent(".adv_history").path),
                       "ADV_HISTFILE must replace ~/.adv_history")
    }

    /// Ctrl-C inside evaluate, fit and an attack call is an interruption, not an error, and the
    /// variables survive; Tab completes a keyword argument. Driven by Scripts/repl_interrupt.sh.
    func testCtrlCInsideBuiltinsKeepsVariables() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("adv-repl-int-\(getpid())")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        let (screen, status) = try drive("repl_interrupt.sh", dir: home)
        XCTAssertEqual(status, 0, screen)
        XCTAssertEqual(screen.components(separatedBy: "interrupted (variables are kept)").count - 1, 3, screen)
        XCTAssertFalse(screen.contains("error: interrupted"), "an interruption printed as an error\n" + screen)
        XCTAssertTrue(screen.contains("kept: 42 resnet18 4000"), screen)
        XCTAssertTrue(screen.contains("adv> x = pgd(eps: 4/255)"), screen)
    }
}
