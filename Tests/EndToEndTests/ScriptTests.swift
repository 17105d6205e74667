import Foundation
import XCTest

/// Finds the `adv` executable built next to this test bundle (works for any --scratch-path).
func advExecutable() -> URL? {
    var candidates: [URL] = []
    if let a0 = CommandLine.arguments.first { candidates.append(URL(fileURLWithPath: a0).deletingLastPathComponent()) }
    if let e = Bundle.main.executableURL { candidates.append(e.deletingLastPathComponent()) }
    for b in Bundle.allBundles { candidates.append(b.bundleURL.deletingLastPathComponent()) }
    for start in candidates {
        var dir = start.standardizedFileURL
        for _ in 0..<4 {  // macOS bundles nest the binary in X.xctest/Contents/MacOS
            let exe = dir.appendingPathComponent("adv")
            if FileManager.default.isExecutableFile(atPath: exe.path) { return exe }
            dir = dir.deletingLastPathComponent()
        }
    }
    return nil
}

/// The result of running adv.
struct RunResult {
    var stdout: String
    var stderr: String
    var status: Int32
}

/// Runs adv with arguments, optional stdin text, in `cwd`.
func runAdv(_ args: [String], stdin: String? = nil, cwd: URL? = nil, env: [String: String] = [:],
            timeout: TimeInterval = 60) throws -> RunResult {
    guard let exe = advExecutable() else {
        throw NSError(domain: "EndToEnd", code: 1, userInfo: [NSLocalizedDescriptionKey: "adv executable not found next to the test bundle (\(CommandLine.arguments.first ?? "?")); build it first"])
    }
    return try runProcess(exe, args, stdin: stdin, cwd: cwd, env: env, timeout: timeout)
}

/// Runs any executable with arguments, optional stdin text (else an empty stdin), in `cwd`, with
/// `env` added to this process's environment; terminated after `timeout` seconds.
func runProcess(_ exe: URL, _ args: [String], stdin: String? = nil, cwd: URL? = nil, env: [String: String] = [:],
                timeout: TimeInterval = 60) throws -> RunResult {
    let p = Process()
    p.executableURL = exe
    p.arguments = args
    if let c = cwd { p.currentDirectoryURL = c }
    var environment = ProcessInfo.processInfo.environment
    for (k, v) in env { environment[k] = v }
    p.environment = environment
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = inp
    try p.run()
    if let s = stdin { inp.fileHandleForWriting.write(Data(s.utf8)) }
    try? inp.fileHandleForWriting.close()
    // Read both pipes fully before waiting, so large output cannot block the child.
    var outData = Data(), errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    errData = err.fileHandleForReading.readDataToEndOfFile()
    if group.wait(timeout: .now() + timeout) == .timedOut { p.terminate() }
    p.waitUntilExit()
    return RunResult(stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self),
                     status: p.terminationStatus)
}

final class ScriptTests: XCTestCase {
    var scripts: URL {
        get throws {
            guard let u = Bundle.module.url(forResource: "Scripts", withExtension: nil) else {
                throw NSError(domain: "EndToEnd", code: 2, userInfo: [NSLocalizedDescriptionKey: "Scripts resource missing"])
            }
            return u
        }
    }

    /// Every Scripts/NAME.adv runs with Scripts as the working directory; its stdout, stderr and
    /// exit status must equal NAME.out, NAME.err (empty when absent) and NAME.code (0 when absent).
    /// NAME.args holds the script's arguments, one per line.
    func testScriptsProduceExpectedOutput() throws {
        let dir = try scripts
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".adv") }.sorted()
        XCTAssertGreaterThan(files.count, 10)
        func read(_ name: String) -> String? {
            (try? Data(contentsOf: dir.appendingPathComponent(name))).map { String(decoding: $0, as: UTF8.self) }
        }
        for f in files {
            let base = String(f.dropLast(4))
            let args = read(base + ".args")?.split(separator: "\n").map(String.init) ?? []
            let r = try runAdv([f] + args, cwd: dir)
            XCTAssertEqual(r.stdout, read(base + ".out") ?? "", "stdout of \(f)")
            XCTAssertEqual(r.stderr, read(base + ".err") ?? "", "stderr of \(f)")
            let code = Int32((read(base + ".code") ?? "0").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            XCTAssertEqual(r.status, code, "exit status of \(f)")
        }
    }

    func testDashE() throws {
        let r = try runAdv(["-e", "x = 6 * 7\nprint(\"answer {x}\")"])
        XCTAssertEqual(r.stdout, "answer 42\n")
        XCTAssertEqual(r.status, 0)
        let bad = try runAdv(["-e", "print(1 +)"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertEqual(bad.stderr, "-e:1:10: error: expected an expression, found ')'\nprint(1 +)\n         ^\n")
        let err = try runAdv(["-e", "print(undefined_thing)"])
        XCTAssertEqual(err.status, 1)
        XCTAssertTrue(err.stderr.hasPrefix("-e:1:7: error: unknown name 'undefined_thing'"), err.stderr)
    }

    func testScriptFromStdinWhenNotATerminal() throws {
        let r = try runAdv([], stdin: "for i in range(3) { print(i * i) }\n")
        XCTAssertEqual(r.stdout, "0\n1\n4\n")
        XCTAssertEqual(r.status, 0)
        let r2 = try runAdv(["-", "a"], stdin: "print(args)\n")
        XCTAssertEqual(r2.stdout, "[\"a\"]\n")
    }

    func testHelpVersionAndUsageErrors() throws {
        let v = try runAdv(["--version"])
        XCTAssertEqual(v.status, 0)
        XCTAssertTrue(v.stdout.hasPrefix("adv "), v.stdout)
        let h = try runAdv(["--help"])
        XCTAssertEqual(h.status, 0)
        XCTAssertTrue(h.stdout.contains("USAGE") && h.stdout.contains("-e"), h.stdout)
        let u = try runAdv(["--no-such-flag"])
        XCTAssertEqual(u.status, 2)
        XCTAssertTrue(u.stderr.contains("--no-such-flag"), u.stderr)
        let m = try runAdv(["/nonexistent/script.adv"])
        XCTAssertEqual(m.status, 2)
        XCTAssertEqual(m.stderr, "adv: error: cannot read /nonexistent/script.adv: no such file\n")
    }

    func testScriptArgumentsMayLookLikeFlags() throws {
        let dir = try scripts
        let r = try runAdv(["args.adv", "--epochs", "3", "-e"], cwd: dir)
        XCTAssertEqual(r.stdout, "args: [\"--epochs\", \"3\", \"-e\"] 3\n--EPOCHS\n3\n-E\n")
    }

    func testUseNameFindsModulesThroughADVPATH() throws {
        let dir = try scripts
        let r = try runAdv(["-e", "use mathx\nprint(mathx.square(3))"], env: ["ADV_PATH": dir.appendingPathComponent("lib").path])
        XCTAssertEqual(r.stdout, "loading mathx\n9\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        let missing = try runAdv(["-e", "use nothere"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("no module 'nothere'"), missing.stderr)
    }

    func testBuiltinsMarkdownGenerator() throws {
        let r = try runAdv(["--builtins-markdown"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.hasPrefix("# Builtins\n"))
        XCTAssertTrue(r.stdout.contains("\n## range\n"))
    }
}
