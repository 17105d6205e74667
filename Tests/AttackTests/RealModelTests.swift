// Attacks on the project's real architectures (small configurations): evaluation mode with
// BatchNorm running statistics left untouched, eps 0 == clean, restored mode, and an
// unbounded attack driving an untrained model to 0%.
import XCTest
@testable import Engine
@testable import Tensor

final class RealModelTests: XCTestCase {
    func small(_ name: String) throws -> Network {
        var o = ModelOptions()
        o.image = 32; o.channels = 1; o.classes = 10; o.params = 2e5
        return try Models.make(name, o, rng: RNG(seed: 1))
    }

    func testResNetBatchNormStatisticsUntouchedAndModeRestored() throws {
        let m = try small("resnet50_gelu")
        m.isTraining = true
        let x = Tensor.rand([8, 1, 32, 32], rng: RNG(seed: 2))
        let y = (0..<8).map { $0 % 10 }
        let before = m.buffers().map { $0.tensor.toArray() }
        let adv = try PGD(eps: 4 / 255, step: 1 / 255, steps: 2).perturb(m, x, labels: y, rng: RNG(seed: 3))
        XCTAssertTrue(m.isTraining)
        XCTAssertEqual(m.buffers().map { $0.tensor.toArray() }, before, "BatchNorm running statistics changed during the attack")
        XCTAssertTrue(m.parameters().allSatisfy { $0.tensor.grad == nil }, "the attack left weight gradients behind")
        var maxd: Float = 0
        for k in 0..<x.count { maxd = max(maxd, abs(adv.ptr[k] - x.ptr[k])) }
        XCTAssertLessThanOrEqual(maxd, 4 / 255 + 1e-6)
        XCTAssertGreaterThan(maxd, 0)
    }

    func testEpsZeroAndUnboundedOnTheFiveArchitectures() throws {
        for name in ["convnext_tiny", "swin_tiny", "poolformer_s36", "deit_small", "resnet50_gelu"] {
            let m = try small(name)
            let x = Tensor.rand([4, 1, 32, 32], rng: RNG(seed: 4))
            let pred = AttackOps.predictions(try AttackMode.evaluating(m) { try Autograd.noGrad { try m.forward(x) } })
            let zero = try PGD(eps: 0, step: 0, steps: 1).run(m, x, goal: AttackGoal(labels: pred), rng: RNG(seed: 5))
            XCTAssertEqual(zero.fooled, [Bool](repeating: false, count: 4), "\(name): eps 0 must reproduce the clean predictions")
            let big = try PGD(eps: 1, step: 0.25, steps: 5).run(m, x, goal: AttackGoal(labels: pred), rng: RNG(seed: 5))
            XCTAssertEqual(big.fooled.filter { !$0 }.count, 0, "\(name): unbounded attack left examples robust")
        }
    }
}
