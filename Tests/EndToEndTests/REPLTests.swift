import Foundation
import XCTest

/// Drives the REPL through a pseudo-terminal with tmux (a private server socket).
final class REPLTests: XCTestCase {
    var socket = ""
    var home: URL!

    /// Runs a tmux client command. Only capture-pane's output is read: the server that
    /// new-session starts would otherwise inherit the pipe and keep it open forever.
    @discardableResult
    func tmux(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["tmux", "-L", socket] + args
        p.standardInput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        let capture = args.first == "capture-pane"
        let out = Pipe()
        p.standardOutput = capture ? out : FileHandle.nullDevice
        try p.run()
        var data = Data()
        if capture { data = out.fileHandleForReading.readDataToEndOfFile() }
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    func screen() -> String { (try? tmux(["capture-pane", "-p", "-J", "-S", "-500", "-t", "repl"])) ?? "" }

    /// Types literal text (no key names), then optional keys such as "Enter", "Tab", "C-c".
    func send(_ text: String, _ keys: String...) throws {
        if !text.isEmpty { _ = try tmux(["send-keys", "-t", "repl", "-l", text]) }
        for k in keys { _ = try tmux(["send-keys", "-t", "repl", k]) }
    }

    /// Waits until the screen contains `text` (the n-th occurrence).
    func wait(for text: String, count: Int = 1, timeout: TimeInterval = 30, file: StaticString = #filePath, line: UInt = #line) {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if screen().components(separatedBy: text).count - 1 >= count { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTFail("timed out waiting for \(text.debugDescription) on screen:\n\(screen())", file: file, line: line)
    }

    override func tearDown() {
        _ = try? tmux(["kill-server"])
        if let h = home { try? FileManager.default.removeItem(at: h) }
    }

    func testInteractiveSession() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            throw XCTSkip("tmux is not installed (make deps installs it)")
        }
        guard let adv = advExecutable() else { return XCTFail("adv executable not found next to the test bundle") }
        socket = "adv-repl-test-\(getpid())"
        home = FileManager.default.temporaryDirectory.appendingPathComponent("adv-repl-home-\(getpid())")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let target = home.appendingPathComponent("completion_target_file.adv")
        try "print(1)\n".write(to: target, atomically: true, encoding: .utf8)
        let saved = home.appendingPathComponent("session.adv")

        _ = try tmux(["new-session", "-d", "-s", "repl", "-x", "160", "-y", "50",
                      "env HOME=\(home.path) TERM=xterm \(adv.path)"])
        wait(for: "adv> ")

        // Multi-line input: continuation prompt while the block is open.
        try send("fn sq(x) {", "Enter")
        wait(for: "...> ")
        try send("return x * x", "Enter")
        try send("}", "Enter")
        try send("y = sq(4)", "Enter")
        try send("y", "Enter")
        wait(for: "\n16\n")

        // A mistake shows a caret; the session goes on with earlier variables.
        try send("pirnt(y)", "Enter")
        wait(for: "error: unknown name 'pirnt'; did you mean 'print'?")
        wait(for: "^~~~~")
        try send("y + 1", "Enter")
        wait(for: "\n17\n")

        // Completion of record fields, variables, and file paths inside strings.
        try send("rec = {alpha: 1, beta: 2}", "Enter")
        try send("rec.al", "Tab")
        try send("", "Enter")
        wait(for: "adv> rec.alpha\n1\n")
        try send("unique_variable_name = 5", "Enter")
        try send("unique_var", "Tab")
        try send("", "Enter")
        wait(for: "adv> unique_variable_name\n5\n")
        try send("path = \"\(home.path)/completion_tar", "Tab")
        try send("", "Enter")
        wait(for: "completion_target_file.adv")
        try send("suppressed = 99;", "Enter")
        try send("suppressed + 1;", "Enter")

        // Ctrl-C interrupts a running loop; variables survive.
        try send("while true { y = y + 0 }", "Enter")
        Thread.sleep(forTimeInterval: 0.5)
        try send("", "C-c")
        wait(for: "interrupted (variables are kept)")
        try send("y * 2", "Enter")
        wait(for: "\n32\n")

        // Ctrl-C at the prompt clears the line (also pending continuation lines).
        try send("this is not code", "C-c")
        try send("[1,", "Enter")
        wait(for: "...> ", count: 3)
        try send("", "C-c")
        try send("print(\"after\")", "Enter")
        wait(for: "\nafter\n")
        XCTAssertFalse(screen().contains("this is not code\n<repl>"), screen())

        try send(":vars", "Enter")
        wait(for: "unique_variable_name: number = 5")
        try send(":save \(saved.path)", "Enter")
        wait(for: "saved ")
        try send("", "C-d")
        Thread.sleep(forTimeInterval: 1)

        // The saved session runs as a script with the same output.
        let r = try runAdv([saved.path])
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, "16\n17\n1\n5\nafter\n32\n".replacingOccurrences(of: "after\n32\n", with: "32\nafter\n"))
        let history = (try? String(contentsOf: home.appendingPathComponent(".adv_history"), encoding: .utf8)) ?? ""
        XCTAssertTrue(history.contains("fn sq(x) { return x * x }"), history)
    }
}
