import Engine
import Foundation
import XCTest
@testable import Runtime

/// The kernel's progress relay (in-place lines as a display updated by id) and its stderr
/// forwarding (what a cell writes to fd 2 reaches the notebook). The protocol side is tested by
/// scripts/kernel_check.py (make kernel-check).
final class KernelStreamsTests: XCTestCase {
    func testProgressLinesBecomeOneDisplayUpdatedInPlace() {
        var relay = ProgressRelay()
        var n = 0
        relay.makeID = { n += 1; return "id\(n)" }
        XCTAssertEqual(relay.write("\rfit m: 16 images  "), [.show(id: "id1", text: "fit m: 16 images")])
        XCTAssertEqual(relay.write("\rfit m: 32 images"), [.update(id: "id1", text: "fit m: 32 images")])
        // a note ends the in-place line (its "\n" is not text of its own), then comes as a stream
        XCTAssertEqual(relay.write("\n"), [])
        XCTAssertEqual(relay.write("APGD-CE: 3 broken\n"), [.stream("APGD-CE: 3 broken\n")])
        // the next in-place line is a new display
        XCTAssertEqual(relay.write("\revaluate m: 8/8 images (100%)"), [.show(id: "id2", text: "evaluate m: 8/8 images (100%)")])
        XCTAssertEqual(relay.write("\nafter\n"), [.stream("after\n")])
        XCTAssertNil(relay.current)
        // plain lines (no in-place line open) pass through whole
        XCTAssertEqual(relay.write("\nplain\n"), [.stream("\nplain\n")])
    }

    func testStderrOfTheBodyGoesToTheSinkAndFd2IsRestored() throws {
        let forwarder = StderrForwarder()
        final class Received: @unchecked Sendable {
            let lock = NSLock()
            var text = ""
            func add(_ s: String) { lock.lock(); text += s; lock.unlock() }
        }
        let got = Received()
        let value = forwarder.capture(into: { got.add($0) }) { () -> Int in
            Console.err("from Console.err\n")
            fputs("from fputs é\n", stderr)
            return 7
        }
        XCTAssertEqual(value, 7)
        // everything arrived before capture returned
        XCTAssertEqual(got.text, "from Console.err\nfrom fputs é\n")
        // fd 2 is the original stderr again: the same file as the forwarder's log descriptor
        var a = stat(), b = stat()
        XCTAssertEqual(fstat(2, &a), 0)
        XCTAssertEqual(fstat(forwarder.logFD, &b), 0)
        XCTAssertEqual(a.st_ino, b.st_ino)
        XCTAssertEqual(a.st_dev, b.st_dev)
    }

    func testSplitUTF8SequencesAreHeldBackUntilWhole() {
        let e = Array("é".utf8)   // 2 bytes
        XCTAssertEqual(StderrForwarder.completePrefix(Array("ab".utf8)), 2)
        XCTAssertEqual(StderrForwarder.completePrefix(Array("ab".utf8) + [e[0]]), 2)
        XCTAssertEqual(StderrForwarder.completePrefix(Array("ab".utf8) + e), 4)
        let euro = Array("€".utf8)   // 3 bytes
        XCTAssertEqual(StderrForwarder.completePrefix([0x41] + euro.prefix(2)), 1)
        XCTAssertEqual(StderrForwarder.completePrefix([0x41] + euro), 4)
    }
}
