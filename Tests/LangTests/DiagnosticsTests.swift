import XCTest
@testable import Lang

final class DiagnosticsTests: XCTestCase {
    func testCaretAndTildes() {
        let src = SourceFile(name: "d.adv", text: "x = 1\ny = pirnt(x) + 2\n")
        let d = Diagnostic("unknown name 'pirnt'; did you mean 'print'?", at: Span(src, 10, 15))
        XCTAssertEqual(d.render(), """
        d.adv:2:5: error: unknown name 'pirnt'; did you mean 'print'?
        y = pirnt(x) + 2
            ^~~~~
        """)
    }

    func testTabsAndUnicodeAlign() {
        let src = SourceFile(name: "d.adv", text: "\tname = \"é\" + q")
        let d = Diagnostic("bad", at: Span(src, 13, 14))
        XCTAssertEqual(d.render(), "d.adv:1:13: error: bad\n\tname = \"é\" + q\n\t           ^")
    }

    func testSpanAtEndOfInputAndMultiline() {
        let src = SourceFile(name: "d.adv", text: "f(1,\n2")
        let (_, diags) = Parser.parse(src)
        // A bracket never closed is reported where it opens, with a note where the parser gave up.
        XCTAssertEqual(diags.count, 2)
        XCTAssertEqual(diags[0].render(), "d.adv:1:2: error: '(' is never closed (expected ')' to close the call)\nf(1,\n ^")
        XCTAssertEqual(diags[1].render(), "d.adv:2:2: note: the parser gave up here, at end of input\n2\n ^")
        // A span over two lines underlines to the end of the first.
        let d = Diagnostic("m", at: Span(src, 2, 6))
        XCTAssertEqual(d.render(), "d.adv:1:3: error: m\nf(1,\n  ^~")
    }
}
