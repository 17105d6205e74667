import Engine
import Tensor
import Foundation
import Lang
import XCTest
@testable import Runtime

/// Figures: data checks, the SVG and PNG (cairo) outputs, the braille renderer at a fixed size,
/// training curves and robustness curves from results, image grids.
final class FigureTests: XCTestCase {
    func figure(_ code: String) throws -> Figure {
        var out: Value = .nil_
        let interp = Interpreter(output: { _ in })
        interp.globals.values["capture"] = .builtin(Builtin("capture", "capture(v)", doc: "") { a, _ in out = a.positional[0]; return .nil_ })
        try interp.run(Lang.SourceFile(name: "t.adv", text: code))
        guard case .object(let o) = out, let f = o as? FigureObject else { throw XCTSkip("no figure captured") }
        return f.figure
    }

    func testBadDataIsAClearError() {
        XCTAssertEqual(errorLine("plot([1, 2, 3], [1, 2])"), "t.adv:1:1: error: plot: 'xs' has 3 values but 'ys' has 2; they must have the same length")
        XCTAssertEqual(errorLine("plot([], [])"), "t.adv:1:1: error: plot: no data ('ys' is empty)")
        XCTAssertTrue(errorLine("plot([1, \"a\"])").contains("element 2 of 'xs' must be a number, got string"))
        XCTAssertTrue(errorLine("plot([1, 2]).line([1], [1, 2])").contains("line: 'xs' has 1 values but 'ys' has 2"))
        XCTAssertTrue(errorLine("save(plot([1, 2]), \"/tmp/f.jpg\")").contains("must end in .svg or .png"))
    }

    func testNaNAndInfAreSkippedAndCounted() throws {
        let f = try figure("capture(plot([1, 2, 3, 4, 5], [1, log(-1), 3, exp(1000), 5]).ylog().line([1, 2], [0, 1]))")
        XCTAssertEqual(f.panels[0].series[0].xs, [1, 3, 5])
        XCTAssertEqual(f.note, "2 points skipped: nan or inf; 1 point skipped: not positive on a log axis")
        let svg = SVGRenderer.render(FigureLayout.scene(f))
        XCTAssertTrue(svg.contains("Note: 2 points skipped: nan or inf"))
    }

    func testSVGHasSeriesLegendAndThinnedCurves() throws {
        let f = try figure("""
            xs = range(5000)
            capture(plot(xs, map(xs, fn(x) { return sin(x / 100) }), label: "long", title: "T", xlabel: "step").points([1, 2], [0, 1], label: "pts").bars([10, 20], [0.5, 0.2], label: "b"))
            """)
        let svg = SVGRenderer.render(FigureLayout.scene(f))
        for label in ["long", "pts", "b"] { XCTAssertTrue(svg.contains("<g class=\"series\" data-label=\"\(label)\">"), label) }
        XCTAssertTrue(svg.contains("<g class=\"legend\">"))
        let polyline = svg.components(separatedBy: "<polyline").first { $0.contains("stroke-width=\"2\" stroke-linejoin") && $0.contains("points=") && $0.count > 5000 }
        let points = polyline.map { $0.components(separatedBy: " ").count } ?? 0
        XCTAssertGreaterThan(points, 400)
        XCTAssertLessThan(points, 900, "a 5000-point curve is thinned to about 800 points")
        XCTAssertLessThan(svg.utf8.count, 60_000)
    }

    func testPNGThroughCairoHasTheSizeAndIsNotBlank() throws {
        let f = try figure("capture(plot([1, 2, 3], [3, 1, 2], title: \"png\"))")
        let png = try CairoRenderer.png(FigureLayout.scene(f))
        let img = try ImageFile.decode(png, channels: 3, source: "figure.png")
        XCTAssertEqual(img.width, 2 * Int(FigureLayout.panelWidth))
        XCTAssertEqual(img.height, 2 * (Int(FigureLayout.panelHeight) + 30))
        let blue = stride(from: 0, to: img.pixels.count, by: 3).filter { img.pixels[$0] < 80 && img.pixels[$0 + 2] > 150 }.count
        XCTAssertGreaterThan(blue, 500, "the series' blue line is drawn")
        let white = stride(from: 0, to: img.pixels.count, by: 3).filter { img.pixels[$0] == 255 && img.pixels[$0 + 1] == 255 }.count
        XCTAssertGreaterThan(white, img.width * img.height / 2, "the background is white")
    }

    func testBrailleAtAFixedSize() throws {
        let f = try figure("capture(plot([0, 1, 2, 3], [0, 1, 4, 9], label: \"sq\", title: \"Squares\", xlabel: \"x\"))")
        let text = BrailleRenderer.render(f, width: 40, height: 12, color: false)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.count, 12, text)
        XCTAssertTrue(lines.allSatisfy { $0.count <= 40 }, text)
        XCTAssertEqual(lines[0].trimmingCharacters(in: .whitespaces), "Squares")
        XCTAssertTrue(lines[1].trimmingCharacters(in: .whitespaces).hasPrefix("9.45┤"), text)
        XCTAssertTrue(lines[8].trimmingCharacters(in: .whitespaces).hasPrefix("-0.45┤"), text)
        XCTAssertTrue(text.contains("━━ sq"))
        // The curve rises from the bottom left to the top right.
        func braille(_ s: Substring) -> Bool { s.unicodeScalars.contains { $0.value > 0x2800 && $0.value <= 0x28FF } }
        let top = lines[1], bottom = lines[8]
        XCTAssertTrue(braille(top.suffix(8)) && !braille(top.prefix(20)), text)
        XCTAssertTrue(braille(bottom.prefix(14)) && !braille(bottom.suffix(15)), text)
        let dots = text.unicodeScalars.filter { $0.value > 0x2800 && $0.value <= 0x28FF }.count
        XCTAssertGreaterThan(dots, 20)
    }

    func testTrainingCurvesFromAFitResult() throws {
        let f = try figure("""
            h = {step: [1, 2, 3, 4], epoch: [0.5, 1, 1.5, 2], loss: [2.3, 2.0, 1.7, 1.5], lr: [1e-4, 2e-4, 2e-4, 1e-4], clean: [10, 20, 30, 40], adv: [5, 10, 15, 20]}
            capture(plot({steps: 4, epochs: [], history: h}, title: "convnext"))
            """)
        XCTAssertEqual(f.title, "convnext")
        XCTAssertEqual(f.panels.map { $0.title ?? "" }, ["Training loss", "Training accuracy", "Learning rate"])
        XCTAssertEqual(f.panels[1].series.map { $0.label ?? "" }, ["clean", "adversarial"])
        XCTAssertEqual(f.panels[1].series[1].ys, [5, 10, 15, 20])
    }

    func testRobustnessCurveFromSweeps() throws {
        let f = try figure("""
            a = {model: "deit", attack: "PGD-5", clean: 80, eps: [0, 2/255, 4/255], robust: [80, 50, 20], warnings: []}
            b = {model: "resnet", attack: "PGD-5", clean: 70, eps: [0, 2/255, 4/255], robust: [70, 55, 30], warnings: []}
            capture(plot([a, b]))
            """)
        XCTAssertEqual(f.panels[0].series.map { $0.label ?? "" }, ["deit", "resnet"])
        XCTAssertEqual(f.panels[0].series[0].xs.map { ($0 * 1000).rounded() / 1000 }, [0, 2, 4])
        XCTAssertEqual(f.title, "Robust accuracy against eps (PGD-5)")
        // A sweep without eps 0 starts at its clean accuracy (eps 0 changes nothing).
        let g = try figure("capture(plot({model: \"m\", clean: 90, eps: [1/255, 2/255], robust: [60, 30]}))")
        XCTAssertEqual(g.panels[0].series[0].ys, [90, 60, 30])
        XCTAssertEqual(g.panels[0].series[0].xs.first, 0)
    }

    func testGridLayoutLabelsAndScaledPerturbation() throws {
        var out: Value = .nil_
        let interp = Interpreter(output: { _ in })
        interp.globals.values["capture"] = .builtin(Builtin("capture", "capture(v)", doc: "") { a, _ in out = a.positional[0]; return .nil_ })
        try interp.run(Lang.SourceFile(name: "t.adv", text: """
            seed(0)
            x = rand(5, 1, 8, 8)
            d = 0.01 * sign(randn(5, 1, 8, 8))
            capture(grid([x, clamp(x + d, min: 0, max: 1), d], labels: [[1, 2, 3, 4, 5], ["a", "b", "c", "d", "e"]], cols: 3, titles: ["clean", "adversarial", "perturbation"]))
            """))
        guard case .object(let o) = out, let g = (o as? GridObject)?.grid else { return XCTFail("no grid") }
        XCTAssertEqual(g.titles.compactMap { $0 }, ["clean", "adversarial", "perturbation (x50)"])
        XCTAssertEqual(g.bands, 2)
        let img = g.composite()
        XCTAssertEqual(img.width, 3 * 10 + 2)
        XCTAssertEqual(img.height, 2 * 3 * 10 + 2)
        // The scaled perturbation shows as 0.5 +- 0.5: pixels 0 or 255 only.
        let pert = g.blocks[2][0].pixels
        XCTAssertTrue(pert.allSatisfy { $0 == 0 || $0 == 255 }, "\(pert.prefix(8))")
        let svg = SVGRenderer.render(g.scene())
        XCTAssertEqual(svg.components(separatedBy: "<image ").count - 1, 15)
        XCTAssertTrue(svg.contains(">perturbation (x50)</text>") && svg.contains(">e</text>"))
        XCTAssertTrue(errorLine("grid([rand(2, 1, 4, 4), rand(3, 1, 4, 4)])").contains("grid: element 2 of 'images' has shape [3, 1, 4, 4]"))
        XCTAssertTrue(errorLine("grid(rand(2, 2, 4, 4))").contains("must be N x C x H x W with C = 1 or 3"))
        XCTAssertTrue(errorLine("grid(rand(2, 1, 4, 4), labels: [1])").contains("'labels' has 1 entries but there are 2 images"))
    }
}
