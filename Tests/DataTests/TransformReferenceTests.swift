// RandAugment ops, resampling, the evaluation crop and mixup/cutmix against timm/Pillow outputs
// written by scripts/fixtures/gen_data.py, with the random choices fixed on both sides.
import Foundation
import XCTest
@testable import Engine
@testable import Tensor

final class TransformReferenceTests: XCTestCase {
    func testEveryRandAugmentOpMatchesTimmAndPillow() throws {
        let cases = try Fixture.cases("randaugment")
        XCTAssertEqual(cases.count, 2 * 15 * 4)
        var failures = [String]()
        for c in cases {
            let name = try XCTUnwrap(c["input"] as? String)
            let op = try XCTUnwrap(RandAugmentOp(rawValue: try XCTUnwrap(c["op"] as? String)))
            let m = try XCTUnwrap(c["magnitude"] as? Double)
            let neg = try XCTUnwrap(c["negate"] as? Bool)
            let filter = try XCTUnwrap(ResampleFilter(rawValue: try XCTUnwrap(c["filter"] as? String)))
            let args = try XCTUnwrap(c["args"] as? [Double])
            let arg = op.argument(m, negate: neg)
            if let a = args.first { XCTAssertEqual(arg, a, accuracy: 1e-12, "\(op) m=\(m) argument") }
            let img = try Fixture.input(name)
            let fill: [UInt8] = img.channels == 3 ? [124, 116, 104] : [124]
            let out = op.apply(img, arg: arg, filter: filter, fill: fill)
            let expect = try Fixture.bytes("reference/" + (try XCTUnwrap(c["output"] as? String)))
            XCTAssertEqual(out.pixels.count, expect.count)
            let d = byteDiff(out.pixels, expect)
            if d.count > 0 { failures.append("\(op.rawValue) \(name) m=\(m) neg=\(neg) \(filter): \(d.count) bytes differ, max \(d.max)") }
        }
        XCTAssertTrue(failures.isEmpty, failures.joined(separator: "\n"))
    }

    func testResizeMatchesPillow() throws {
        var failures = [String]()
        for c in try Fixture.cases("resize") {
            var img = try Fixture.input(try XCTUnwrap(c["input"] as? String))
            if let b = c["box"] as? [Int] {
                img = img.cropped(CropBox(top: b[1], left: b[0], height: b[3] - b[1], width: b[2] - b[0]))
            }
            let w = try XCTUnwrap(c["width"] as? Int), h = try XCTUnwrap(c["height"] as? Int)
            let f = try XCTUnwrap(ResampleFilter(rawValue: try XCTUnwrap(c["filter"] as? String)))
            let out = img.resized(width: w, height: h, filter: f)
            let expect = try Fixture.bytes("reference/" + (try XCTUnwrap(c["output"] as? String)))
            let d = byteDiff(out.pixels, expect)
            if d.count > 0 || out.pixels.count != expect.count { failures.append("\(c): \(d.count) differ, max \(d.max)") }
        }
        XCTAssertTrue(failures.isEmpty, failures.joined(separator: "\n"))
    }

    func testEvalResizeCenterCropMatchesTorchvision() throws {
        for c in try Fixture.cases("eval") {
            let img = try Fixture.input(try XCTUnwrap(c["input"] as? String))
            let size = try XCTUnwrap(c["size"] as? Int)
            let out = ResizeCenterCrop(size: size).apply(img)
            let expect = try Fixture.bytes("reference/" + (try XCTUnwrap(c["output"] as? String)))
            XCTAssertEqual(out.width, size)
            XCTAssertEqual(out.pixels, expect, "eval crop \(c)")
        }
    }

    func testMixupAndCutmixMatchTimm() throws {
        let x0 = try Fixture.floats("reference/mix_input.f32")
        for c in try Fixture.cases("mix") {
            let lam = try XCTUnwrap(c["lambda"] as? Double)
            let cut = try XCTUnwrap(c["cutmix"] as? Bool)
            let labels = try XCTUnwrap(c["labels"] as? [Int])
            let smoothing = try XCTUnwrap(c["smoothing"] as? Double)
            let d = cut ? MixupDecision.cutmix(lambda: lam, height: 7, width: 9,
                                               cy: try XCTUnwrap(c["cy"] as? Int), cx: try XCTUnwrap(c["cx"] as? Int))
                        : MixupDecision(lambda: lam)
            XCTAssertEqual(d.lambda, try XCTUnwrap(c["lambda_out"] as? Double), accuracy: 1e-12)
            if let b = c["box"] as? [Int], let box = d.box { XCTAssertEqual([box.yl, box.yh, box.xl, box.xh], b) }
            let x = try Tensor(shape: [6, 2, 7, 9], data: x0)
            try Mixing.apply(d, to: x)
            let out = try XCTUnwrap(c["output"] as? String)
            let ex = try Fixture.floats("reference/\(out)_x.f32")
            for (a, b) in zip(x.toArray(), ex) { XCTAssertEqual(a, b, accuracy: 1e-6) }
            let t = try Mixing.targets(labels: labels, classes: 4, lambda: d.lambda, smoothing: smoothing)
            let et = try Fixture.floats("reference/\(out)_t.f32")
            for (a, b) in zip(t.toArray(), et) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        }
    }

    func testMixupNeedsEvenBatch() throws {
        let x = Tensor(zeros: [3, 1, 2, 2])
        assertThrows(["even batch size", "3"]) { try Mixing.apply(MixupDecision(lambda: 0.5), to: x) }
    }

    func testRandomResizedCropParameters() {
        let t = RandomResizedCrop(size: 8)
        let rng = RNG(seed: 1)
        for _ in 0..<500 {
            let b = t.box(width: 40, height: 30, rng: rng)
            XCTAssertGreaterThanOrEqual(b.top, 0)
            XCTAssertLessThanOrEqual(b.top + b.height, 30)
            XCTAssertLessThanOrEqual(b.left + b.width, 40)
            let area = Double(b.width * b.height) / 1200
            XCTAssertGreaterThan(area, 0.05)
        }
        // fallback: a 1x100 strip can never fit a crop with ratio >= 3/4 -> central crop clamped to the ratio
        let f = RandomResizedCrop(size: 4, scale: (0.9, 1)).box(width: 100, height: 1, rng: RNG(seed: 2))
        XCTAssertEqual(f, CropBox(top: 0, left: 49, height: 1, width: 1))
    }

    func testRandAugmentDrawsFollowTimm() {
        var cfg = RandAugmentConfig(magnitude: 9, std: 0.5)
        let rng = RNG(seed: 5)
        var applied = 0, total = 0, maxM = 0.0
        var ops = Set<RandAugmentOp>()
        for _ in 0..<2000 {
            for s in cfg.draw(rng: rng) {
                total += 1
                ops.insert(s.op)
                if s.applied { applied += 1; maxM = max(maxM, s.magnitude); XCTAssertTrue((0...10).contains(s.magnitude)) }
            }
        }
        XCTAssertEqual(total, 4000)
        XCTAssertEqual(Double(applied) / 4000, 0.5, accuracy: 0.04)
        XCTAssertEqual(ops.count, 15)
        XCTAssertEqual(maxM, 10) // N(9, 0.5) exceeds 10 sometimes and is clipped
        cfg.magnitude = 1; cfg.std = 0
        XCTAssertTrue(cfg.draw(rng: rng).allSatisfy { !$0.applied || $0.magnitude == 1 })
    }
}
