import Foundation
import Lang
import XCTest
@testable import Runtime

/// Cells (percent format), the notebook runner (outputs, failures, not-run cells), the HTML and
/// Markdown reports, Markdown rendering and display data.
final class NotebookTests: XCTestCase {
    func testCellsSplitTitlesMarkdownAndLines() {
        let text = """
            x = 1

            # %% Load data
            y = 2
            # %% [markdown]
            # # Heading
            # text
            #
            # more
            # %%
            z = 3
            # %%not a marker
            """
        let cells = Cells.split(text)
        XCTAssertEqual(cells.map(\.kind), [.code, .code, .markdown, .code])
        XCTAssertEqual(cells.map(\.title), [nil, "Load data", nil, nil])
        XCTAssertEqual(cells[2].text, "# Heading\ntext\n\nmore")
        XCTAssertEqual(cells[3].text, "z = 3\n# %%not a marker")
        XCTAssertEqual(cells[1].firstLine, 4)
        XCTAssertEqual(cells[3].firstLine, 11)
        XCTAssertEqual(Cells.split("print(1)\nprint(2)\n").count, 1, "a file without markers is one cell")
        XCTAssertEqual(Cells.split("# %% Title [markdown]\n# hi").first?.title, "Title")
    }

    func testScriptsIgnoreMarkers() {
        XCTAssertEqual(output("# %% one\nprint(1)\n# %% [markdown]\n# some *text*\n# %%\nprint(2)\n"), "1\n2\n")
    }

    func notebook(_ text: String) throws -> Report {
        let path = NSTemporaryDirectory() + "adv-nb-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).adv"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = NotebookRunner(args: ["a1"])
        r.status = { _ in }
        return r.run(path: path, args: ["a1"])
    }

    func testRunnerCollectsWhatEachCellShowed() throws {
        let report = try notebook("""
            # %% [markdown]
            # # Title
            # %% first
            seed(7)
            print("hello", args[0])
            1 + 2
            # %% second
            rows = [{model: "a", clean: 50}]
            plot([1, 2], [3, 4], label: "s")
            rows
            # %% third
            show(plot([1, 2]))
            x = 5;
            """)
        XCTAssertEqual(report.exitCode, 0)
        XCTAssertEqual(report.seed, "7 (set by seed(7))")
        XCTAssertEqual(report.cells.count, 4)
        let first = report.cells[1].outputs
        guard first.count == 2, case .stream(let s) = first[0], case .display(let d) = first[1] else { return XCTFail("\(first)") }
        XCTAssertEqual(s, "hello a1\n")
        XCTAssertEqual(d.plain, "3")
        // Only the last bare expression is shown (the plot before it is not).
        let second = report.cells[2].outputs
        XCTAssertEqual(second.count, 1)
        if case .display(let d2) = second[0] { XCTAssertNotNil(d2.bundle["text/html"]); XCTAssertTrue(d2.bundle["text/html"]!.contains("<th>model</th>")) }
        guard case .display(let fig)? = report.cells[3].outputs.first else { return XCTFail("show() displays") }
        XCTAssertTrue(fig.bundle["image/svg+xml"]?.hasPrefix("<svg") == true)
        XCTAssertEqual(report.cells[3].outputs.count, 1)
    }

    func testFailingCellShowsItsErrorAndLaterCellsDoNotRun() throws {
        let report = try notebook("""
            # %% ok
            print("a")
            # %% bad
            print("b")
            y = nosuch + 1
            # %% later
            print("c")
            """)
        XCTAssertEqual(report.exitCode, 1)
        XCTAssertEqual(report.cells.map(\.status), [.ok, .failed, .notRun])
        guard case .error(let e)? = report.cells[1].outputs.last else { return XCTFail() }
        XCTAssertTrue(e.hasPrefix(NSTemporaryDirectory() + "adv-nb-") || e.contains("/adv-nb-"), e)
        XCTAssertTrue(e.contains(".adv:5:5: error: unknown name 'nosuch'"), e)
        XCTAssertTrue(e.contains("y = nosuch + 1\n    ^~~~~~"), e)
        XCTAssertTrue(report.cells[2].outputs.isEmpty)
        let html = ReportHTML.render(report)
        XCTAssertTrue(html.contains("data-status=\"not run\""))
        XCTAssertTrue(html.contains("class=\"output error\""))
        let syntax = try notebook("# %%\nprint(1)\n# %%\nprint((\n")
        XCTAssertEqual(syntax.exitCode, 2)
        XCTAssertEqual(syntax.cells.map(\.status), [.ok, .failed])
    }

    func testStderrIsCapturedWithProgressCollapsed() {
        let text = StderrCapture.run {
            FileHandle.standardError.write(Data("step 1\rstep 2\rstep 3   \nwarning: x\n".utf8))
        }
        XCTAssertEqual(text, "step 3\nwarning: x")
    }

    func testHTMLReportIsSelfContained() throws {
        let report = try notebook("""
            # %% [markdown]
            # Some **bold** and <script>alert(1)</script>
            # %% t
            print("| A | B |\\n|---|---|\\n| 1 | x |")
            grid(rand(2, 1, 4, 4))
            """)
        let html = ReportHTML.render(report)
        XCTAssertTrue(html.contains("<strong>bold</strong>"))
        XCTAssertFalse(html.contains("<script"), "no scripts, Markdown HTML is escaped")
        XCTAssertTrue(html.contains("<table class=\"data\">"))
        XCTAssertTrue(html.contains("data:image/png;base64,"))
        XCTAssertFalse(html.contains("http://") && !html.contains("http://www.w3.org/2000/svg"))
        XCTAssertFalse(html.contains("https://"), "nothing is fetched from the network")
        for field in ["meta-date", "meta-version", "meta-seed", "meta-time"] { XCTAssertTrue(html.contains("id=\"\(field)\""), field) }
    }

    func testMarkdownReportWritesFiguresBeside() throws {
        let report = try notebook("# %% f\nplot([1, 2, 3])\n")
        let dir = NSTemporaryDirectory() + "adv-md-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try report.write(to: dir + "/r.md")
        let md = try String(contentsOfFile: dir + "/r.md", encoding: .utf8)
        XCTAssertTrue(md.contains("![figure 1](r_files/figure-1.svg)"), md)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/r_files/figure-1.svg"))
        XCTAssertThrowsError(try report.write(to: dir + "/r.txt"))
    }

    func testMarkdownRendering() {
        XCTAssertEqual(Markdown.html("# T\npara *it* `c` [l](u)\n\n- a\n- b\n\n1. x\n"),
                       "<h1>T</h1>\n<p>para <em>it</em> <code>c</code> <a href=\"u\">l</a></p>\n<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n<ol>\n<li>x</li>\n</ol>\n")
        XCTAssertEqual(Markdown.inline("snake_case_name"), "snake_case_name")
        XCTAssertEqual(Markdown.inline("[x](javascript:void)"), "<a>x</a>")
    }
}
