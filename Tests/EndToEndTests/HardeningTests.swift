import Foundation
import XCTest

/// Hostile use of the `adv` executable (issue 16, docs/reliability.md): long expressions, broken
/// and closed standard streams, signals, odd script paths, files that must not be overwritten.
/// Each test names the item it covers; each failed before its fix.
final class HardeningTests: XCTestCase {
    var adv: String {
        get throws {
            guard let exe = advExecutable() else { throw XCTSkip("adv executable not built next to the tests") }
            return exe.path
        }
    }

    /// A fresh temporary folder, removed after the test.
    func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("adv-harden-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: d) }
        return d
    }

    /// Runs `script` with bash (ADV is the executable); returns stdout, stderr and the status.
    func shell(_ script: String, cwd: URL? = nil, timeout: TimeInterval = 60) throws -> RunResult {
        try runProcess(URL(fileURLWithPath: "/bin/bash"), ["-c", script], cwd: cwd, env: ["ADV": try adv], timeout: timeout)
    }

    // MARK: - 1. Long flat expressions

    func testLongChainsRunAndTearDown() throws {
        let dir = try tempDir()
        let n = 60_000
        let cases: [(String, String)] = [
            ("x = " + Array(repeating: "1", count: n).joined(separator: " + ") + "\nprint(x)\n", "60000\n"),
            ("x = " + Array(repeating: "true", count: n).joined(separator: " and ") + "\nprint(x)\n", "true\n"),
            ("fn f() { return f }\nx = f" + String(repeating: "()", count: n) + "\nprint(type(x))\n", "function\n"),
            ("xs = [0]\nxs[0] = xs\nx = xs" + String(repeating: "[0]", count: n) + "\nprint(len(x))\n", "1\n"),
            ("r = {a: nil}\nr.a = r\nx = r" + String(repeating: ".a", count: n) + "\nprint(keys(x))\n", "[\"a\"]\n"),
        ]
        for (i, (code, expected)) in cases.enumerated() {
            let f = dir.appendingPathComponent("chain\(i).adv")
            try code.write(to: f, atomically: true, encoding: .utf8)
            let r = try runAdv([f.path])
            XCTAssertEqual(r.status, 0, "case \(i): \(r.stderr.prefix(300))")
            XCTAssertEqual(r.stdout, expected, "case \(i)")
        }
        // The same chain ending in a dangling operator is a syntax error, not a crash.
        let bad = dir.appendingPathComponent("dangling.adv")
        try ("x = " + Array(repeating: "1", count: n).joined(separator: " + ") + " +\n").write(to: bad, atomically: true, encoding: .utf8)
        let r = try runAdv([bad.path])
        XCTAssertEqual(r.status, 2, r.stderr.prefix(300).description)
        XCTAssertTrue(r.stderr.contains("error: expected an expression"), r.stderr.prefix(300).description)
    }

    // MARK: - 2. Failed writes to stdout and stderr

    func testBrokenStandardOutput() throws {
        let full = try shell("\"$ADV\" -e 'print(1)' > /dev/full")
        XCTAssertEqual(full.status, 1)
        XCTAssertEqual(full.stderr, "adv: error: cannot write to standard output: No space left on device\n")
        let closed = try shell("\"$ADV\" -e 'print(1)' >&-")
        XCTAssertEqual(closed.status, 1)
        XCTAssertTrue(closed.stderr.hasPrefix("adv: error: cannot write to standard output: "), closed.stderr)
        let errFull = try shell("\"$ADV\" -e 'print(1)' 2>/dev/full")
        XCTAssertEqual(errFull.status, 0)
        XCTAssertEqual(errFull.stdout, "1\n")
        let errFullFailing = try shell("\"$ADV\" -e 'error(\"boom\")' 2>/dev/full")
        XCTAssertEqual(errFullFailing.status, 1)
        // A closed pipe: a quiet exit with the status of a process ended by SIGPIPE (141).
        let pipe = try shell("\"$ADV\" -e 'for i in range(1000000) { print(i) }' | head -2; echo \"status ${PIPESTATUS[0]}\"")
        XCTAssertEqual(pipe.stdout, "0\n1\nstatus 141\n")
        XCTAssertEqual(pipe.stderr, "")
    }

    /// A fit log that cannot be written (here /dev/full) stops training with a clear error.
    func testFitLogWriteFailureStopsTraining() throws {
        let dir = try tempDir()
        let script = """
        data = synthetic(n: 64, classes: 2, image: 8, channels: 1, seed: 2, test: 8)
        m = model("resnet50_gelu", params: 2e4, image: 8, channels: 1, classes: 2)
        fit(m, data, recipe: recipe(epochs: 1, batch: 16, lr: 0.01, lr_batch: 16), log: "/dev/full", checkpoint: "\(dir.path)/ck.safetensors", progress: false)
        print("trained")
        """
        let f = dir.appendingPathComponent("fit_log.adv")
        try script.write(to: f, atomically: true, encoding: .utf8)
        let r = try runAdv([f.path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("cannot write the log /dev/full: No space left on device; training stopped"), r.stderr)
        XCTAssertEqual(r.stdout, "")
    }

    /// A full disk (a small tmpfs holding the log) stops training with a clear error, keeps the
    /// last good checkpoint and leaves the log well-formed (a partly written line is cut off).
    /// Needs permission to mount (root).
    func testFullDiskDuringTraining() throws {
        let dir = try tempDir()
        let mnt = dir.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: mnt, withIntermediateDirectories: true)
        let m = try shell("mount -t tmpfs -o size=64k tmpfs '\(mnt.path)' 2>&1")
        guard m.status == 0 else { throw XCTSkip("cannot mount a tmpfs here (\(m.stdout.trimmingCharacters(in: .whitespacesAndNewlines))); the full-disk test needs root") }
        defer { _ = try? shell("umount '\(mnt.path)'") }
        // One free page: the log fills it after about 15 steps, in the middle of a line.
        _ = try shell("head -c \(60 * 1024) /dev/zero > '\(mnt.path)/filler'")
        let script = """
            data = synthetic(n: 64, classes: 2, image: 8, channels: 1, seed: 2, test: 8)
            m = model("resnet50_gelu", params: 2e4, image: 8, channels: 1, classes: 2)
            fit(m, data, recipe: recipe(epochs: 12, batch: 16, lr: 0.01, lr_batch: 16), log: "\(mnt.path)/log.jsonl", checkpoint: "\(dir.path)/ck.safetensors", progress: false)
            """
        try script.write(to: dir.appendingPathComponent("full.adv"), atomically: true, encoding: .utf8)
        let r = try runAdv([dir.appendingPathComponent("full.adv").path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("cannot write the log \(mnt.path)/log.jsonl: No space left on device; training stopped at epoch"), r.stderr)
        XCTAssertTrue(r.stderr.contains("the last checkpoint written is kept in \(dir.path)/ck.safetensors"), r.stderr)
        // The log holds whole JSON lines only.
        let log = try String(contentsOf: mnt.appendingPathComponent("log.jsonl"), encoding: .utf8)
        XCTAssertTrue(log.hasSuffix("\n"), String(log.suffix(200)))
        XCTAssertGreaterThan(log.utf8.count, 3000)
        for line in log.split(separator: "\n") {
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(line.utf8)), String(line))
        }
        // The last checkpoint is whole: its header's data size matches the file.
        let ck = try Data(contentsOf: dir.appendingPathComponent("ck.safetensors"))
        let n = ck.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try XCTUnwrap(try JSONSerialization.jsonObject(with: ck.subdata(in: 8..<8 + n)) as? [String: Any])
        let end = header.values.compactMap { ($0 as? [String: Any])?["data_offsets"] as? [Int] }.map { $0[1] }.max() ?? 0
        XCTAssertEqual(8 + n + end, ck.count)
    }

    // MARK: - 6. Closed standard input

    func testClosedStdin() throws {
        let r = try shell("\"$ADV\" <&-; echo \"status $?\"")
        XCTAssertEqual(r.stdout, "status 0\n", r.stderr)
        let e = try shell("\"$ADV\" -e 'print(2)' <&- 2>&1; echo \"status $?\"")
        XCTAssertEqual(e.stdout, "2\nstatus 0\n")
    }

    // MARK: - 8, 9. Interrupts

    /// An interrupted script reports it and exits with 130; two SIGINTs within a millisecond
    /// (what `timeout -s INT` sends to a process and its group) are one interruption.
    func testInterruptExitStatusAndDoubleSignal() throws {
        for signals in [1, 2] {
            let kill = Array(repeating: "kill -INT $pid", count: signals).joined(separator: "; ")
            let r = try shell("\"$ADV\" -e 'print(\"started\")\nwhile true { }' & pid=$!; sleep 1; \(kill); wait $pid; echo \"status $?\"")
            XCTAssertEqual(r.stdout, "started\nstatus 130\n", "\(signals) signal(s): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("error: interrupted"), "\(signals) signal(s): \(r.stderr)")
        }
    }

    /// Two SIGINTs within a millisecond during `fit` still save the checkpoint (the first epoch
    /// is far from over, so no other checkpoint exists) and exit with 130.
    func testDoubleSignalDuringFitSavesCheckpoint() throws {
        let dir = try tempDir()
        let script = """
            data = synthetic(n: 4096, classes: 2, image: 8, channels: 1, seed: 2, test: 8)
            m = model("resnet50_gelu", params: 2e4, image: 8, channels: 1, classes: 2)
            print("go")
            fit(m, data, recipe: recipe(epochs: 50, batch: 16, lr: 0.01, lr_batch: 16), checkpoint: "ck.safetensors")
            """
        try script.write(to: dir.appendingPathComponent("fit.adv"), atomically: true, encoding: .utf8)
        let r = try shell("\"$ADV\" fit.adv > out.txt & pid=$!; for i in $(seq 1 300); do grep -q go out.txt && break; sleep 0.1; done; sleep 1; kill -INT $pid; kill -INT $pid; wait $pid; echo \"status $?\"", cwd: dir)
        XCTAssertEqual(r.stdout, "status 130\n", r.stderr)
        XCTAssertTrue(r.stderr.contains("training interrupted") && r.stderr.contains("checkpoint ck.safetensors"), r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("ck.safetensors").path))
    }

    // MARK: - 13. Tab-indented code pasted into the REPL

    func testTabAfterWhitespaceIndents() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { throw XCTSkip("tmux is not installed (make deps installs it)") }
        guard let driver = Bundle.module.url(forResource: "Scripts", withExtension: nil)?.appendingPathComponent("repl_tab.sh") else {
            return XCTFail("Scripts/repl_tab.sh missing")
        }
        let home = try tempDir()
        let r = try shell("/bin/sh '\(driver.path)' \"$ADV\" '\(home.path)'")
        XCTAssertEqual(r.status, 0, r.stdout)
        XCTAssertTrue(r.stdout.contains("\npos neg\n"), r.stdout)
        XCTAssertFalse(r.stdout.contains("error"), r.stdout)
    }

    // MARK: - 16. Script paths that are not regular files

    func testScriptsFromDevicesPipesAndLinks() throws {
        let dir = try tempDir()
        let null = try shell("\"$ADV\" /dev/null; echo \"status $?\"")
        XCTAssertEqual(null.stdout, "status 0\n", null.stderr)
        let sub = try shell("\"$ADV\" <(echo 'print(1)')")
        XCTAssertEqual(sub.stdout, "1\n", sub.stderr)
        let stdin = try shell("echo 'print(3)' | \"$ADV\" /dev/stdin")
        XCTAssertEqual(stdin.stdout, "3\n", stdin.stderr)
        let fifo = try shell("mkfifo f && (echo 'print(4)' > f &) && \"$ADV\" f", cwd: dir)
        XCTAssertEqual(fifo.stdout, "4\n", fifo.stderr)
        let loop = try shell("ln -s a b && ln -s b a && \"$ADV\" a; echo \"status $?\"", cwd: dir)
        XCTAssertEqual(loop.stdout, "status 2\n")
        XCTAssertEqual(loop.stderr, "adv: error: cannot read a: symbolic links loop (a -> b -> a)\n")
        let directory = try shell("\"$ADV\" .; echo \"status $?\"", cwd: dir)
        XCTAssertEqual(directory.stderr, "adv: error: cannot read .: it is a directory\n")
    }

    // MARK: - 10, 12. Overwriting files

    func testSaveRefusesDevicesFifosAndFollowsLinks() throws {
        let dir = try tempDir()
        let setup = "m = model(\"resnet50_gelu\", params: 2e4, image: 8, channels: 1, classes: 2)\n"
        let fifo = try shell("mkfifo pipe && \"$ADV\" -e '\(setup)save(m, \"pipe\")'; echo \"status $?\"", cwd: dir)
        XCTAssertTrue(fifo.stderr.contains("refusing to overwrite pipe: it is a FIFO (named pipe), not a regular file"), fifo.stderr)
        XCTAssertTrue(fifo.stdout.hasSuffix("status 1\n"))
        let dev = try shell("\"$ADV\" -e '\(setup)save(m, \"/dev/null\")'", cwd: dir)
        XCTAssertTrue(dev.stderr.contains("refusing to overwrite /dev/null: it is a character device"), dev.stderr)
        // A symlink: the file it points to is replaced, the link stays.
        let link = try shell("echo old > target && ln -s target link && \"$ADV\" -e '\(setup)save(m, \"link\")' && test -L link && test -s target && ! grep -q old target && echo ok", cwd: dir)
        XCTAssertEqual(link.stdout, "ok\n", link.stderr)
        // A stale temporary of a killed writer (its process is gone) is removed by the next write.
        let stale = try shell("sleep 0 & dead=$!; wait $dead; echo junk > .w.safetensors.tmp-$dead; \"$ADV\" -e '\(setup)save(m, \"w.safetensors\")' && ls -a | grep -c tmp-", cwd: dir)
        XCTAssertEqual(stale.stdout, "0\n", stale.stderr)
    }

    // MARK: - 17, 18, 19, 21. Messages

    func testSourceEncodingMessages() throws {
        let dir = try tempDir()
        try Data([0xEF, 0xBB, 0xBF] + Array("print(\"bom\")\n".utf8)).write(to: dir.appendingPathComponent("bom.adv"))
        let bom = try runAdv([dir.appendingPathComponent("bom.adv").path])
        XCTAssertEqual(bom.stdout, "bom\n", bom.stderr)
        try Data(Array("x = 1\n".utf8) + [0x78, 0x20, 0x3D, 0x20, 0x07, 0x0A]).write(to: dir.appendingPathComponent("bel.adv"))
        let bel = try runAdv([dir.appendingPathComponent("bel.adv").path])
        XCTAssertEqual(bel.status, 2)
        XCTAssertTrue(bel.stderr.contains("2:5: error: unexpected character U+0007 (a control character)\nx = \u{2407}\n    ^"), bel.stderr)
        try Data(Array("x = 1\ny = \"caf".utf8) + [0xE9, 0x22, 0x0A]).write(to: dir.appendingPathComponent("latin1.adv"))
        let latin = try runAdv([dir.appendingPathComponent("latin1.adv").path])
        XCTAssertEqual(latin.status, 2)
        XCTAssertTrue(latin.stderr.hasSuffix("latin1.adv:2:9: error: the file is not valid UTF-8 (byte 0xE9)\ny = \"caf\u{FFFD}\"\n        ^\n"), latin.stderr)
    }

    func testLongLineErrorIsCut() throws {
        let dir = try tempDir()
        let f = dir.appendingPathComponent("long.adv")
        try ("x = [" + String(repeating: "1, ", count: 500_000) + "1 ]]\n").write(to: f, atomically: true, encoding: .utf8)
        let r = try runAdv([f.path])
        XCTAssertEqual(r.status, 2)
        XCTAssertLessThan(r.stderr.utf8.count, 1000, String(r.stderr.prefix(500)))
        XCTAssertTrue(r.stderr.contains("\n...,") && r.stderr.contains(", 1, 1 ]]\n"), r.stderr)
    }

    func testUnclosedBracketIsReportedAtTheBracket() throws {
        let r = try runAdv(["-e", "x = max(1, 2\ny = 3\nprint(y)"])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stderr, """
            -e:1:8: error: '(' is never closed (expected ')' to close the call)
            x = max(1, 2
                   ^
            -e:2:1: note: the parser gave up here, at name 'y'
            y = 3
            ^

            """)
    }

    func testSyntaxErrorInUsedModuleBeforeAnythingRuns() throws {
        let dir = try tempDir()
        try "fn ok() { return 1 }\nfn bad( {\n".write(to: dir.appendingPathComponent("broken.adv"), atomically: true, encoding: .utf8)
        try "print(\"main ran\")\nuse broken\n".write(to: dir.appendingPathComponent("main.adv"), atomically: true, encoding: .utf8)
        let r = try runAdv(["main.adv"], cwd: dir)
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stdout, "", "nothing may run before a syntax error is reported")
        XCTAssertTrue(r.stderr.contains("broken.adv:2:"), r.stderr)
    }

    // MARK: - 20. File errors in plain words

    func testLoadWeightsOnADirectory() throws {
        let dir = try tempDir()
        let r = try runAdv(["-e", "m = model(\"resnet50_gelu\", params: 2e4, image: 8, channels: 1, classes: 2)\nload_weights(m, \"\(dir.path)\")"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("cannot read \(dir.path): it is a directory"), r.stderr)
        XCTAssertFalse(r.stderr.contains("NSCocoaErrorDomain"), r.stderr)
    }
}
