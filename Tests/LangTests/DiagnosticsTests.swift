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
        XCTAssertEqual(diags.count, 1)
        XCTAssertTrue(diags[0].render().hasPrefix("d.adv:2:2: error: expected ')' to close the call, found end of input"), diags[0].render())
        // A span over two lines underlines to the end of the first.
        let d = Diagnostic("m", at: Span(src, 2, 6))
        XCTAssertEqual(d.render(), "d.adv:1:3: error: m\nf(1,\n  ^~")
    }
}
