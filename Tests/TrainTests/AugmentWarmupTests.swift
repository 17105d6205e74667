// The data-augmentation warmup table of docs/reference.md section 4, epoch by epoch.
import XCTest
@testable import Engine
@testable import Tensor

final class AugmentWarmupTests: XCTestCase {
    func warmupRecipe() throws -> Recipe {
        var r = Recipe()
        r.randAugment = try RandAugmentSpec(parsing: "rand-m9-mstd0.5-inc1")
        r.augWarmup = true; r.mixup = 0.8; r.cutmix = 1.0; r.mixProb = 1; r.switchProb = 0.5
        return r
    }

    func testWarmupTable() throws {
        let r = try warmupRecipe()
        let m: [Double] = [1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9]
        let prob: [Double] = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1, 1, 1, 1, 1, 1]
        let cut: [Double] = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
        let sw: [Double] = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.1, 0.2, 0.3, 0.4, 0.5, 0.5]
        for e in 0..<12 {
            let s = r.augmentation(epoch: e)
            XCTAssertEqual(s.randAugmentMagnitude, m[e], "m at epoch \(e)")
            XCTAssertEqual(s.mixProb, prob[e], "prob at epoch \(e)")
            XCTAssertEqual(s.cutmixAlpha, cut[e], "cutmix at epoch \(e)")
            XCTAssertEqual(s.switchProb, sw[e], "switch at epoch \(e)")
            XCTAssertEqual(s.mixupAlpha, 0.8)
            XCTAssertEqual(s.randAugmentStd, 0.5)
        }
        XCTAssertEqual(r.augmentation(epoch: 100).randAugmentMagnitude, 9)
    }

    func testOriginalCodeDipIsOptional() throws {
        var r = try warmupRecipe()
        XCTAssertEqual(r.augmentation(epoch: 8).mixProb, 1)
        r.augWarmupDip = true
        XCTAssertEqual(r.augmentation(epoch: 7).mixProb, 1)
        XCTAssertEqual(r.augmentation(epoch: 8).mixProb, 0.9)
        XCTAssertEqual(r.augmentation(epoch: 9).mixProb, 0.95)
        XCTAssertEqual(r.augmentation(epoch: 10).mixProb, 1)
    }

    func testNoWarmupKeepsRecipe() throws {
        var r = Recipe()
        r.randAugment = try RandAugmentSpec(parsing: "rand-m9-mstd0.5-inc1")
        for e in [0, 3, 7] {
            let s = r.augmentation(epoch: e)
            XCTAssertEqual(s.randAugmentMagnitude, 9)
            XCTAssertFalse(s.mixes)
        }
    }

    func testRandAugmentStrings() throws {
        let s = try RandAugmentSpec(parsing: "rand-m9-mstd0.5-inc1")
        XCTAssertEqual(s, RandAugmentSpec(magnitude: 9, std: 0.5, ops: 2, increasing: true))
        XCTAssertEqual(s.description, "rand-m9-mstd0.5-inc1")
        XCTAssertEqual(try RandAugmentSpec(parsing: "rand-m7-n3").ops, 3)
        XCTAssertThrowsError(try RandAugmentSpec(parsing: "auto-m9"))
        XCTAssertThrowsError(try RandAugmentSpec(parsing: "rand-m11"))
        XCTAssertThrowsError(try RandAugmentSpec(parsing: "rand-q3"))
    }
}
