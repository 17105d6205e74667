// Transforms without a Pillow reference: random erasing, padded random crop, flip, evaluation view sizes.
import Foundation
import XCTest
@testable import Engine
@testable import Tensor

final class TransformTests: XCTestCase {
    func testRandomErasingErasesOneBoundedRectangle() {
        let (c, h, w) = (3, 20, 24)
        var changedAny = false
        for seed in 0..<50 {
            let x = Tensor(shape: [c, h, w], repeating: 2) // outside [0, 1]: erased pixels are recognisable
            RandomErasing(probability: 1).apply(x.ptr, channels: c, height: h, width: w, rng: RNG(seed: UInt64(seed)))
            let v = x.toArray()
            let erased = v.enumerated().filter { $0.element != 2 }.map { $0.offset }
            guard !erased.isEmpty else { continue }
            changedAny = true
            XCTAssertTrue(erased.allSatisfy { v[$0] >= 0 && v[$0] <= 1 })
            XCTAssertEqual(erased.count % c, 0)
            let area = Double(erased.count / c) / Double(h * w)
            XCTAssertGreaterThanOrEqual(area, 0.02 - 0.01)
            XCTAssertLessThanOrEqual(area, 1.0 / 3 + 0.03)
            // one rectangle: its bounding box is fully erased in every channel
            let ys = erased.map { ($0 % (h * w)) / w }, xs = erased.map { $0 % w }
            let boxArea = ((ys.max() ?? 0) - (ys.min() ?? 0) + 1) * ((xs.max() ?? 0) - (xs.min() ?? 0) + 1)
            XCTAssertEqual(boxArea * c, erased.count)
        }
        XCTAssertTrue(changedAny)
        let x = Tensor(shape: [1, 4, 4], repeating: 2)
        RandomErasing(probability: 0).apply(x.ptr, channels: 1, height: 4, width: 4, rng: RNG(seed: 1))
        XCTAssertTrue(x.toArray().allSatisfy { $0 == 2 })
    }

    func testPadCropKeepsPixelsAndPadsWithZeros() {
        var img = PixelImage(width: 8, height: 8, channels: 1)
        for i in 0..<64 { img.pixels[i] = UInt8(i + 1) }
        var offsets = Set<Int>()
        for s in 0..<200 {
            let out = PadCrop(size: 8, padding: 4).apply(img, rng: RNG(seed: UInt64(s)))
            XCTAssertEqual(out.width, 8)
            // nonzero pixels are a shifted copy of the input
            let nz = out.pixels.enumerated().filter { $0.element != 0 }
            if let f = nz.first { offsets.insert(Int(f.element) - 1 - f.offset) }
            for (i, v) in nz {
                let src = Int(v) - 1
                XCTAssertEqual((i / 8) - (src / 8), (nz[0].offset / 8) - ((Int(nz[0].element) - 1) / 8))
                XCTAssertEqual((i % 8) - (src % 8), (nz[0].offset % 8) - ((Int(nz[0].element) - 1) % 8))
            }
        }
        XCTAssertGreaterThan(offsets.count, 20) // 81 placements, drawn uniformly
    }

    func testFlipAndEvalViewSizes() {
        var img = PixelImage(width: 3, height: 2, channels: 3)
        for i in 0..<18 { img.pixels[i] = UInt8(i) }
        let f = img.flippedHorizontally()
        XCTAssertEqual(Array(f.pixels[0..<3]), [6, 7, 8])
        XCTAssertEqual(f.flippedHorizontally(), img)
        let wide = PixelImage(width: 300, height: 200, channels: 3, value: 9)
        let e = ResizeCenterCrop(size: 224).apply(wide)
        XCTAssertEqual([e.width, e.height], [224, 224])
        XCTAssertTrue(e.pixels.allSatisfy { $0 == 9 })
        let tiny = ResizeCenterCrop(size: 16).apply(PixelImage(width: 5, height: 7, channels: 1, value: 3))
        XCTAssertEqual([tiny.width, tiny.height], [16, 16])
    }
}
