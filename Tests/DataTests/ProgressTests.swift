// The shared progress display (Engine/IO/Progress.swift) as data loading uses it: silent during its
// delay, then what, how far, speed and ETA; off with enabled: false or ADV_PROGRESS=0.
import XCTest
@testable import Engine

final class ProgressTests: XCTestCase {
    var text = ""
    var saved: ((String) -> Void, Bool?, Double)!

    override func setUp() {
        text = ""
        saved = (Progress.write, Progress.isTerminal, Progress.plainInterval)
        Progress.write = { [weak self] in self?.text += $0 }
        Progress.isTerminal = false
        Progress.plainInterval = 0
    }
    override func tearDown() { (Progress.write, Progress.isTerminal, Progress.plainInterval) = saved }

    func testLineShowsWhatHowFarSpeedETAAndMetric() {
        let p = Progress("load x.gz", total: 400, unit: "KB")
        p.update(100, metric: "m 1")
        XCTAssertTrue(text.hasPrefix("load x.gz: 100/400 KB (25%)  "), text)
        XCTAssertTrue(text.contains(" KB/s  ETA ") && text.hasSuffix("  m 1\n"), text)
        XCTAssertEqual(Progress.duration(3725), "1h02m")
        XCTAssertEqual(Progress.duration(185), "3m05s")
        XCTAssertEqual(Progress.duration(.nan), "?")
    }

    /// A short load stays quiet: nothing during the delay, not even the forced last update.
    func testDelayKeepsShortTasksQuiet() {
        let p = Progress("load small.gz", total: 10, unit: "KB", delay: 60)
        p.update(5)
        p.update(10, force: true)
        p.finish()
        XCTAssertEqual(text, "")
    }

    func testSilencedByCallerAndEnvironment() {
        Progress("a", total: 1, enabled: false).update(1, force: true)
        XCTAssertEqual(text, "")
        setenv("ADV_PROGRESS", "0", 1)
        defer { unsetenv("ADV_PROGRESS") }
        let p = Progress("b", total: 1)
        p.update(1, force: true)
        p.note("a note")
        XCTAssertEqual(text, "")
    }

    /// AutoAttack's per-member lines go through the innermost live display: silent when it is
    /// switched off, on their own line after an in-place line; with none alive, a plain line.
    func testNotesFromInsideATaskFollowTheInnermostDisplay() {
        do {
            let off = Progress("evaluate m", total: 10, enabled: false)
            off.update(5)
            Progress.noteActive("AutoAttack apgd-ce: 1 of 2")
            XCTAssertEqual(text, "")
        }
        Progress.isTerminal = true
        do {
            let on = Progress("evaluate m", total: 10)
            on.update(5, force: true)
            Progress.noteActive("AutoAttack apgd-t: 0 of 1")
            XCTAssertTrue(text.hasPrefix("\revaluate m: 5/10"), text)
            XCTAssertTrue(text.hasSuffix("\nAutoAttack apgd-t: 0 of 1\n"), text)
        }
        text = ""
        Progress.noteActive("no display")
        XCTAssertEqual(text, "no display\n")
    }
}
