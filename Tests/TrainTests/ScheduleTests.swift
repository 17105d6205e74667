// LR schedules and the scaling rule against hand-computed values.
import XCTest
@testable import Engine
@testable import Tensor

final class ScheduleTests: XCTestCase {
    func testLinearScalingRule() {
        XCTAssertEqual(LRSchedule.scaled(1e-3, globalBatch: 4096), 4e-3, accuracy: 1e-15)
        XCTAssertEqual(LRSchedule.scaled(0.4, globalBatch: 512), 0.2, accuracy: 1e-15)
        var r = Recipe()
        r.lr = 1e-3; r.batch = 64; r.workers = 2; r.accumulation = 4  // global 512
        XCTAssertEqual(r.globalBatch, 512)
        XCTAssertEqual(r.scaledLR, 5e-4, accuracy: 1e-15)
    }

    func testWarmupThenCosine() throws {
        // 10 steps: warmup 4 steps from 0 to 1 (linspace 0, 1/3, 2/3, 1), then cosine over 6 to 0.1
        let s = try LRSchedule(decay: .cosine, baseLR: 1, minLR: 0.1, warmupLR: 0, warmupSteps: 4, totalSteps: 10, stepsPerEpoch: 2)
        let want: [Double] = [0, 1.0 / 3, 2.0 / 3, 1,
                              1,                                   // cos(0)
                              0.1 + 0.45 * (1 + cos(Double.pi / 6)),
                              0.1 + 0.45 * (1 + cos(2 * Double.pi / 6)),
                              0.55,                                // cos(pi/2)
                              0.1 + 0.45 * (1 + cos(4 * Double.pi / 6)),
                              0.1 + 0.45 * (1 + cos(5 * Double.pi / 6))]
        for i in 0..<10 { XCTAssertEqual(s.lr(at: i), want[i], accuracy: 1e-12, "step \(i)") }
        XCTAssertEqual(s.lr(at: 99), want[9], accuracy: 1e-12)  // past the end: last value
    }

    func testStepDecayResNet() throws {
        // ResNet column: warmup from 0.1 over 5 epochs, then x0.1 every 30 epochs, floor 1e-5.
        var r = Recipe()
        r.epochs = 100; r.batch = 512; r.lr = 0.4; r.schedule = "step"; r.minLR = 1e-5
        r.warmupEpochs = 5; r.warmupLR = 0.1; r.optimizer = "sgd"
        let s = try r.lrSchedule(stepsPerEpoch: 10)
        XCTAssertEqual(s.baseLR, 0.2, accuracy: 1e-15)
        XCTAssertEqual(s.warmupSteps, 50)
        XCTAssertEqual(s.lr(at: 0), 0.1, accuracy: 1e-15)
        XCTAssertEqual(s.lr(at: 49), 0.2, accuracy: 1e-15)
        XCTAssertEqual(s.lr(at: 25), 0.1 + 0.1 * 25 / 49, accuracy: 1e-15)
        XCTAssertEqual(s.lr(at: 299), 0.2, accuracy: 1e-15)     // epoch 29
        XCTAssertEqual(s.lr(at: 300), 0.02, accuracy: 1e-15)    // epoch 30
        XCTAssertEqual(s.lr(at: 600), 0.002, accuracy: 1e-15)
        XCTAssertEqual(s.lr(at: 999), 0.0002, accuracy: 1e-15)
        r.minLR = 0.01
        XCTAssertEqual(try r.lrSchedule(stepsPerEpoch: 10).lr(at: 999), 0.01, accuracy: 1e-15)
    }

    func testStudyConvNeXtSchedule() throws {
        // convnext column at bs 4096: peak 4e-3, 10 warmup epochs from 0, cosine to 2.5e-7.
        var r = Recipe()
        r.epochs = 300; r.batch = 4096; r.lr = 1e-3; r.minLR = 2.5e-7; r.warmupEpochs = 10
        let s = try r.lrSchedule(stepsPerEpoch: 312)
        XCTAssertEqual(s.warmupSteps, 3120)
        XCTAssertEqual(s.lr(at: 0), 0)
        XCTAssertEqual(s.lr(at: 3119), 4e-3, accuracy: 1e-18)
        XCTAssertEqual(s.lr(at: 3120), 4e-3, accuracy: 1e-18)
        XCTAssertEqual(s.lr(at: 3120 + (300 * 312 - 3120) / 2), 2.5e-7 + 0.5 * (4e-3 - 2.5e-7), accuracy: 1e-12)
        XCTAssertLessThan(s.lr(at: 300 * 312 - 1), 2.6e-7)
    }

    func testFractionalWarmupRounds() throws {
        var r = Recipe()
        r.epochs = 3; r.warmupEpochs = 0.1; r.batch = 64
        XCTAssertEqual(try r.lrSchedule(stepsPerEpoch: 25).warmupSteps, 3)  // 2.5 -> 3 (rounded half away)
        r.warmupEpochs = 4
        XCTAssertThrowsError(try r.validate())
    }

    func testBadSchedules() {
        XCTAssertThrowsError(try LRSchedule(decay: .cosine, baseLR: 1, minLR: 0, warmupLR: 0, warmupSteps: 5, totalSteps: 4, stepsPerEpoch: 1))
        XCTAssertThrowsError(try LRSchedule(decay: .cosine, baseLR: 1, minLR: 0, warmupLR: 0, warmupSteps: 0, totalSteps: 0, stepsPerEpoch: 1))
        XCTAssertThrowsError(try LRSchedule(decay: .step(every: 0, rate: 0.1), baseLR: 1, minLR: 0, warmupLR: 0, warmupSteps: 0, totalSteps: 4, stepsPerEpoch: 1))
    }
}
