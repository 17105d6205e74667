import Engine
import Tensor
import Foundation
import XCTest
@testable import Runtime

/// A notebook report rendered by headless Chromium (Debian `chromium`; `make report-check` and
/// `make test` install it): the DOM has the cells, tables, SVG figures with their series laid
/// out at a visible size, and image grids; a screenshot is decoded and must not be blank.
/// With ADV_REPORT_CHECK_DIR set, the report and the screenshot are kept there for a look.
final class ReportBrowserTests: XCTestCase {
    static let notebook = """
        # %% [markdown]
        # # Browser check
        # A notebook with a **table**, a figure with two series and an image grid.
        # %% Table
        rows = [{model: "convnext_tiny", precision: "bf16", params: 301000, clean: 60, robust: 54.8, drop: -8.7},
                {model: "resnet50_gelu", precision: "fp32", params: 302000, clean: 47, robust: 40, drop: -14.9}]
        print(table(rows))
        # %% Figure
        xs = range(200)
        f = plot(xs, map(xs, fn(x) { return 2.3 * exp(-x / 60) }), label: "loss", title: "Curves", xlabel: "step")
        f.line(xs, map(xs, fn(x) { return 1 - exp(-x / 80) }), label: "accuracy")
        f
        # %% Grid
        seed(0)
        x = rand(4, 1, 8, 8)
        grid([x, clamp(x + 0.05, min: 0, max: 1)], labels: [[1, 2, 3, 4], [5, 6, 7, 8]], titles: ["clean", "adversarial"])
        """

    /// Runs after the page loads in the browser; writes its findings as JSON into #adv-check.
    static let checker = """
        <script>
        window.addEventListener('load', () => {
          const r = {};
          r.cells = document.querySelectorAll('section.cell').length;
          r.codeCells = document.querySelectorAll('section.cell.code').length;
          r.tables = [...document.querySelectorAll('table.data')].map(t => t.querySelectorAll('tbody tr').length);
          r.figures = [...document.querySelectorAll('figure.figure svg')].map(svg => {
            const b = svg.getBoundingClientRect();
            return {w: Math.round(b.width), h: Math.round(b.height),
                    series: [...svg.querySelectorAll('g.series')].map(g => ({label: g.dataset.label, w: Math.round(g.getBBox().width), h: Math.round(g.getBBox().height)}))};
          });
          r.grids = [...document.querySelectorAll('figure.grid svg')].map(svg => ({images: svg.querySelectorAll('image').length,
                     w: Math.round(svg.getBoundingClientRect().width)}));
          r.title = document.querySelector('h1').textContent;
          const out = document.createElement('pre'); out.id = 'adv-check'; out.textContent = JSON.stringify(r);
          document.body.appendChild(out);
        });
        </script>
        """

    func chromium() -> String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func run(_ exe: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-dev-shm-usage",
                       "--user-data-dir=" + NSTemporaryDirectory() + "adv-chromium-\(getpid())"] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    func testReportInHeadlessChromium() throws {
        guard let browser = chromium() else {
            throw XCTSkip("chromium is not installed: `make report-check` installs the Debian package chromium")
        }
        let env = ProcessInfo.processInfo.environment
        let dir = env["ADV_REPORT_CHECK_DIR"] ?? NSTemporaryDirectory() + "adv-report-check-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { if env["ADV_REPORT_CHECK_DIR"] == nil { try? FileManager.default.removeItem(atPath: dir) } }
        try Self.notebook.write(toFile: dir + "/check.adv", atomically: true, encoding: .utf8)
        let runner = NotebookRunner(args: [])
        runner.status = { _ in }
        let report = runner.run(path: dir + "/check.adv", args: [])
        XCTAssertEqual(report.exitCode, 0)
        try report.write(to: dir + "/check.html")
        let html = try String(contentsOfFile: dir + "/check.html", encoding: .utf8)
        XCTAssertFalse(html.contains("<script"), "the report itself has no scripts")
        try html.replacingOccurrences(of: "</body>", with: Self.checker + "</body>").write(toFile: dir + "/checked.html", atomically: true, encoding: .utf8)

        // The DOM as the browser laid it out.
        let dom = try run(browser, ["--virtual-time-budget=5000", "--dump-dom", "file://" + dir + "/checked.html"])
        guard let start = dom.range(of: "<pre id=\"adv-check\">"), let end = dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex) else {
            return XCTFail("the checker did not run in the browser:\n" + String(dom.prefix(2000)))
        }
        let json = String(dom[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
        let r = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
        XCTAssertEqual(r["cells"] as? Int, 4, json)
        XCTAssertEqual(r["codeCells"] as? Int, 3, json)
        XCTAssertEqual(r["tables"] as? [Int], [2], json)
        XCTAssertEqual(r["title"] as? String, "check.adv", json)
        let figures = try XCTUnwrap(r["figures"] as? [[String: Any]], json)
        XCTAssertEqual(figures.count, 1, json)
        XCTAssertGreaterThan(figures.first?["w"] as? Int ?? 0, 300, json)
        let series = figures.first?["series"] as? [[String: Any]] ?? []
        XCTAssertEqual(series.compactMap { $0["label"] as? String }, ["loss", "accuracy"], json)
        for s in series { XCTAssertGreaterThan(s["w"] as? Int ?? 0, 200, "each series is drawn across the plot: \(json)") }
        let grids = try XCTUnwrap(r["grids"] as? [[String: Any]], json)
        XCTAssertEqual(grids.first?["images"] as? Int, 8, json)

        // A screenshot: the right size and not blank.
        let shot = dir + "/screenshot.png"
        try? FileManager.default.removeItem(atPath: shot)
        _ = try run(browser, ["--window-size=1280,1800", "--screenshot=" + shot, "file://" + dir + "/check.html"])
        let png = try ImageFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: shot))), channels: 3, source: shot)
        XCTAssertEqual(png.width, 1280)
        XCTAssertEqual(png.height, 1800)
        var colours = Set<Int>(), nonWhite = 0
        for i in stride(from: 0, to: png.pixels.count, by: 3) {
            let c = Int(png.pixels[i]) << 16 | Int(png.pixels[i + 1]) << 8 | Int(png.pixels[i + 2])
            colours.insert(c)
            if c != 0xFFFFFF && c != 0xF3F4F6 { nonWhite += 1 }
        }
        XCTAssertGreaterThan(colours.count, 50, "the screenshot has text, lines and images")
        XCTAssertGreaterThan(nonWhite, png.width * png.height / 50)

        // The figure as PNG through cairo: decoded, its size, not blank.
        guard case .display(let d)? = report.cells[2].outputs.last, d.bundle["image/svg+xml"] != nil else { return XCTFail("no figure") }
        let figPNG = try CairoRenderer.png(FigureLayout.scene(try XCTUnwrap({ () -> Figure? in
            if case .object(let o)? = runner.interp.globals.values["f"], let f = o as? FigureObject { return f.figure }
            return nil
        }())))
        try Data(figPNG).write(to: URL(fileURLWithPath: dir + "/figure.png"))
        let fig = try ImageFile.decode(figPNG, channels: 3, source: "figure.png")
        XCTAssertEqual(fig.width, 1040)
        XCTAssertEqual(fig.height, 2 * (340 + 30))
        let drawn = stride(from: 0, to: fig.pixels.count, by: 3).filter { fig.pixels[$0] != 255 || fig.pixels[$0 + 1] != 255 }.count
        XCTAssertGreaterThan(drawn, fig.width * fig.height / 50)
    }
}
