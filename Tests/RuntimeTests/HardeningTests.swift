import Foundation
import XCTest
import Lang
@testable import Engine
@testable import Runtime
@testable import Tensor

/// Issue 16 (docs/reliability.md): inputs that crashed, hung or silently changed data. Each test
/// names the item it covers and failed before its fix.
final class HardeningUnitTests: XCTestCase {
    func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "adv-harden-unit-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    // 1. Freeing a long left-deep expression must not recurse.
    func testLongChainASTFreesWithoutRecursion() {
        let text = "x = " + Array(repeating: "1", count: 90_000).joined(separator: " + ")
        // Parsed and freed on this (small-stack) thread.
        do {
            let (stmts, diags) = Parser.parse(SourceFile(name: "t", text: text))
            XCTAssertTrue(diags.isEmpty)
            XCTAssertEqual(stmts.count, 1)
        }
        let (_, diags) = Parser.parse(SourceFile(name: "t", text: text + " +"))
        XCTAssertEqual(diags.first?.message, "expected an expression, found end of input")
        // A chain taller than the interpreter can recurse (3,000,000 terms overflowed its 1 GiB
        // stack) is a syntax error.
        let (_, tall) = Parser.parse(SourceFile(name: "t", text: "x = " + Array(repeating: "1", count: Parser.maxHeight + 10).joined(separator: " + ")))
        XCTAssertEqual(tall.first?.message, "expression too long (more than 100000 operations in a chain); split it into several statements")
        let (_, calls) = Parser.parse(SourceFile(name: "t", text: "x = f" + String(repeating: "()", count: Parser.maxHeight + 10)))
        XCTAssertEqual(calls.count, 1)
    }

    // 3. Model options are checked before the widths are fitted.
    func testModelOptionsValidated() {
        XCTAssertEqual(errorLine("model(\"deit_tiny\", heads: 0, image: 32, params: 2e5)"),
                       "t.adv:1:1: error: model deit_tiny: heads must be 1...4096 each, got [0]")
        XCTAssertTrue(errorLine("model(\"swin_tiny\", depths: [0], image: 32)").contains("depths must be 1...200 each"))
    }

    // 4. Broadcasting and products pass the tensor size limit.
    func testBroadcastAndMatmulSizeLimit() {
        XCTAssertTrue(errorLine("rand(100000, 1) + rand(1, 100000)").contains("has too many elements"))
        XCTAssertTrue(errorLine("rand(100000, 1) @ rand(1, 100000)").contains("has too many elements"))
        XCTAssertTrue(errorLine("maximum(rand(100000, 1), rand(1, 100000))").contains("has too many elements"))
    }

    // 5. A synthetic set too large for memory is refused before allocating.
    func testSyntheticSizeChecked() {
        XCTAssertTrue(errorLine("synthetic(n: 1e7)").contains("more than the 4 GiB a synthetic data set may hold"))
    }

    // 7. Limits on restarts and steps; a Ctrl-C reaches the loop that draws the unused starts.
    func testAttackLimitsAndInterruptibleRestarts() throws {
        XCTAssertTrue(errorLine("pgd(eps: 0.1, steps: 1, restarts: 1e9)").contains("restarts must be at most 10000"))
        XCTAssertTrue(errorLine("apgd(eps: 0.1, steps: 1e7)").contains("steps must be at most 100000"))
        let x = Tensor(zeros: [2, 1, 2, 2])
        var worst = WorstCase(x)
        var draws = 0
        defer { Interrupt.requested = false }
        XCTAssertThrowsError(try RestartMode.sequential.schedule(
            restarts: 1_000, candidates: [0, 1], limit: 100, worst: &worst, startSize: x.count, attack: "t",
            start: {
                draws += 1
                if draws == 3 { Interrupt.requested = true }
                return x
            },
            run: { idx, starts in
                let n = idx.count * starts.count
                return (try AttackOps.rows(x, idx), [Bool](repeating: true, count: n), [Float](repeating: 0, count: n))
            })) { XCTAssertEqual($0 as? EngineError, .interrupted) }
        XCTAssertLessThan(draws, 5)
    }

    // 10. Only regular files are replaced; links are followed; loops are named.
    func testAtomicWriteRules() throws {
        let d = try tempDir()
        XCTAssertEqual(mkfifo(d + "/fifo", 0o644), 0)
        XCTAssertThrowsError(try AtomicFile.write("x", to: d + "/fifo")) {
            XCTAssertEqual("\($0)", "refusing to overwrite \(d)/fifo: it is a FIFO (named pipe), not a regular file")
        }
        XCTAssertThrowsError(try AtomicFile.write("x", to: "/dev/null")) {
            XCTAssertEqual("\($0)", "refusing to overwrite /dev/null: it is a character device, not a regular file")
        }
        XCTAssertThrowsError(try AtomicFile.write("x", to: d)) { XCTAssertTrue("\($0)".contains("it is a directory"), "\($0)") }
        try "old".write(toFile: d + "/target", atomically: false, encoding: .utf8)
        XCTAssertEqual(symlink("target", d + "/link"), 0)
        try AtomicFile.write("new", to: d + "/link")
        XCTAssertEqual(try String(contentsOfFile: d + "/target", encoding: .utf8), "new")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: d + "/link"), "target")
        XCTAssertEqual(symlink("b", d + "/a"), 0)
        XCTAssertEqual(symlink("a", d + "/b"), 0)
        XCTAssertThrowsError(try AtomicFile.write("x", to: d + "/a")) { XCTAssertTrue("\($0)".contains("symbolic links loop"), "\($0)") }
    }

    // 12. A stale temporary of a dead writer is removed by the next write; a live one is kept.
    func testStaleTemporariesRemoved() throws {
        let d = try tempDir()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        let stale = d + "/.ck.safetensors.tmp-\(p.processIdentifier)"
        let live = d + "/.ck.safetensors.tmp-1"  // init never goes away
        for f in [stale, live] { try "junk".write(toFile: f, atomically: false, encoding: .utf8) }
        try AtomicFile.write("data", to: d + "/ck.safetensors")
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        XCTAssertTrue(FileManager.default.fileExists(atPath: live))
    }

    // 2. A log write that fails is cut back to the last whole line and remembered.
    func testLogKeepsWholeLinesOnFailure() throws {
        let log = try JSONLinesLog(path: "/dev/full")
        log.write([("a", .int(1))])
        XCTAssertThrowsError(try log.checkWritten()) { XCTAssertTrue("\($0)".contains("No space left on device"), "\($0)") }
    }

    // 15. Strings built by replace and join pass the length limit.
    func testReplaceAndJoinLengthLimit() {
        var limits = Limits()
        limits.collectionSize = 1000
        let r = runScript("s = \"aaaaaaaaaa\"\nx = replace(s, \"a\", join(range(200), sep: \"\"))", limits: limits)
        XCTAssertTrue(r.err?.contains("replace: the result would be") ?? false, r.err ?? "no error")
        let j = runScript("s = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\nx = join([s, s, s, s, s, s, s, s, s, s, s, s], sep: s)", limits: limits)
        XCTAssertTrue(j.err?.contains("join: the result would be") ?? false, j.err ?? "no error")
    }

    // 15. A data set too large to batch is refused before a batch is allocated.
    func testBatchSizeCap() throws {
        let d = try Datasets.synthetic(n: 64, classes: 2, image: 8, channels: 1, seed: 0, testN: 1)
        let big = try ResizedDataset(base: d.train, size: 4096, mode: .bilinear)
        XCTAssertThrowsError(try DataLoader(dataset: big, batch: 128)) { XCTAssertTrue("\($0)".contains("has too many elements"), "\($0)") }
    }

    // 15. A tiny PNG declaring 1,000,000 x 1 pixels is refused before it is resized to gigapixels.
    func testElongatedImageRefusedBeforeResizing() throws {
        let root = try tempDir()
        try FileManager.default.createDirectory(atPath: root + "/cls", withIntermediateDirectories: true)
        let png = try ImageFile.encodePNG(PixelImage(width: 1_000_000, height: 1, channels: 3))
        XCTAssertLessThan(png.count, 20_000)
        FileManager.default.createFile(atPath: root + "/cls/wide.png", contents: Data(png))
        let d = try ImageFolderDataset(root: root, size: 224)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: 3 * 224 * 224)
        defer { out.deallocate() }
        XCTAssertThrowsError(try d.load(0, into: out)) { XCTAssertTrue("\($0)".contains("too elongated to resize"), "\($0)") }
    }

    // 15. An IDX gzip bomb stops at the size its header declares.
    func testIDXBombStopsAtDeclaredSize() throws {
        let d = try tempDir()
        var bytes: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 10] + [UInt8](repeating: 1, count: 10)
        bytes += [UInt8](repeating: 0, count: 8 << 20)
        FileManager.default.createFile(atPath: d + "/bomb.idx", contents: Data(bytes))
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gz.arguments = [d + "/bomb.idx"]
        try gz.run()
        gz.waitUntilExit()
        XCTAssertThrowsError(try IDXArray.read(d + "/bomb.idx.gz")) {
            XCTAssertTrue("\($0)".contains("is larger than the 18 bytes expected"), "\($0)")
        }
    }

    // 22. round of huge numbers; NaN sorts last.
    func testRoundAndSortEdgeCases() {
        XCTAssertEqual(output("print(round(1e300, digits: 15), round(-1e300, digits: 3), round(2.5), round(1234.5678, digits: 2))"),
                       "1e+300 -1e+300 3 1234.57\n")
        XCTAssertEqual(output("nan = sqrt(-1)\nprint(sort([3, nan, 1, 2]))\nprint(sort([3, nan, 1, 2], reverse: true))"),
                       "[1, 2, 3, nan]\n[3, 2, 1, nan]\n")
    }

    // 17. A byte-order mark is skipped; bad bytes are shown on their line with a caret.
    func testSourceDecoding() throws {
        let s = try SourceLoader.decode([0xEF, 0xBB, 0xBF] + Array("x = 1".utf8), name: "b.adv")
        XCTAssertEqual(s.text, "x = 1")
        XCTAssertThrowsError(try SourceLoader.decode(Array("x = 1\nab".utf8) + [0, 0x0A], name: "n.adv")) {
            XCTAssertEqual("\($0)", "n.adv:2:3: error: this is a binary file, not a script (NUL byte)\nab\u{2400}\n  ^")
        }
    }

    // 18, 19. Long lines are cut around the column; unclosed brackets are reported where they open.
    func testDiagnosticsOfLongLinesAndUnclosedBrackets() {
        let long = "x = [" + String(repeating: "1, ", count: 100_000) + "1 ]]"
        let (_, d) = Parser.parse(SourceFile(name: "l", text: long))
        let text = Diagnostics(d).description
        XCTAssertLessThan(text.utf8.count, 600, text)
        XCTAssertTrue(text.hasSuffix(", 1, 1 ]]\n" + String(repeating: " ", count: 83) + "^"), text)
        XCTAssertTrue(text.contains("\n...,"), text)
        let (_, u) = Parser.parse(SourceFile(name: "u", text: "f(1,\n[2, 3\n"))
        XCTAssertEqual(u.first?.message, "'[' is never closed (expected ']' to close the list)")
        XCTAssertEqual(u.first.map { $0.span.source.location(of: $0.span.start).line }, 2)
        // A bracket closed later keeps the error where the problem is.
        let (_, c) = Parser.parse(SourceFile(name: "c", text: "f(1 2)"))
        XCTAssertEqual(c.first?.message, "expected ')' to close the call, found number 2")
    }
}
