// The fp32 results of an attack do not depend on which kernel path ran (issue 20): PGD-5 on the
// five architectures (small configurations at 32x32) with every kernel switch of `Backend` on
// (the AVX-512 attention, softmax and depthwise kernels, small-map convolutions, two threads)
// and with each switched off in turn. The kernels sum in other orders, so gradients differ in
// their last bits and a pixel whose gradient is almost zero may step the other way; what the
// attack reports, which examples it fooled, must not change, and the images must agree on all
// but a few pixels.
import XCTest
@testable import Engine
@testable import Tensor

final class KernelPathTests: XCTestCase {
    func small(_ name: String) throws -> Network {
        var o = ModelOptions()
        o.image = 32; o.channels = 3; o.classes = 10; o.params = 3e5
        return try Models.make(name, o, rng: RNG(seed: 1))
    }

    /// The kernel paths compared with the default (every switch on).
    let paths: [(String, (inout Backend) -> Void)] = [
        ("avx512 off", { $0.avx512 = false }),
        ("dw7 off", { $0.dw7 = false }),
        ("smallMap off", { $0.smallMap = false }),
        ("one thread", { $0.threads = 1 }),
    ]

    func testPGDResultsDoNotDependOnTheKernelPath() throws {
        for name in ["convnext_tiny", "swin_tiny", "poolformer_s36", "deit_small", "resnet50_gelu"] {
            let m = try small(name)
            let x = Tensor.rand([16, 3, 32, 32], rng: RNG(seed: 4))
            let pgd = try PGD(eps: 1 / 255, step: 0.25 / 255, steps: 5)
            func attack() throws -> AttackResult {
                let pred = AttackOps.predictions(try AttackMode.evaluating(m) { try Autograd.noGrad { try m.forward(x) } })
                return try pgd.run(m, x, goal: AttackGoal(labels: pred), rng: RNG(seed: 5))
            }
            let base = try Backend.with({ $0.threads = 2 }) { try attack() }
            for (label, change) in paths {
                let other = try Backend.with({ $0.threads = 2; change(&$0) }) { try attack() }
                XCTAssertEqual(other.fooled, base.fooled, "\(name), \(label): the attack fooled other examples")
                var differ = 0
                for k in 0..<x.count where abs(other.adversarial.ptr[k] - base.adversarial.ptr[k]) > 1e-5 { differ += 1 }
                XCTAssertLessThan(Double(differ), 0.01 * Double(x.count), "\(name), \(label): \(differ) of \(x.count) pixels differ")
            }
        }
    }
}
