// Batch norm fused with the residual add and the activation (Tensor.batchNorm's `residual` and
// `act`, BatchNormAct.swift, CKernels/bnact.c): the same values and gradients as the separate
// ops bit for bit, in training and evaluation (also with frozen weight and bias, where the input
// gradient is written in the activation's pass), GELU and ReLU, with and without the residual;
// against finite differences; and ResNet's blocks, which use it, unchanged.
import XCTest
@testable import Engine
@testable import Tensor

final class BatchNormActTests: XCTestCase {
    /// Inputs of a (N, C, H, W) batch norm: x, weight, bias, residual, and running statistics.
    struct Case {
        let x, w, b, r, rm, rv: Tensor
        init(_ shape: [Int], seed: UInt64) {
            let c = shape[1]
            x = rnd(shape, seed: seed, offset: 0.3)
            w = rnd([c], seed: seed + 1, offset: 1)
            b = rnd([c], seed: seed + 2)
            r = rnd(shape, seed: seed + 3)
            rm = rnd([c], seed: seed + 4, requiresGrad: false)
            rv = rnd([c], seed: seed + 5, offset: 2, requiresGrad: false)
        }
        var leaves: [Tensor] { [x, w, b, r] }
    }

    /// Output and gradients (x, w, b, r) of `f` for the output gradient `seed`; fresh running
    /// statistics each time (training updates them).
    func run(_ c: Case, seed: Tensor, _ f: (Case, Tensor, Tensor) throws -> Tensor) throws -> [[Float]] {
        for t in c.leaves { t.grad = nil }
        let out = try f(c, c.rm.copy(), c.rv.copy())
        try out.backward(seed: seed)
        return [Array(UnsafeBufferPointer(start: out.ptr, count: out.count))]
            + c.leaves.map { t in t.grad.map { Array(UnsafeBufferPointer(start: $0.ptr, count: $0.count)) } ?? [] }
    }

    func testFusedEqualsSeparateOpsBitForBit() throws {
        // 7x7 planes: not a multiple of the 16-float vector, so the loops' tails run too.
        for shape in [[3, 5, 7, 7], [2, 4, 16, 16]] {
            let c = Case(shape, seed: 11)
            let seed = Tensor.uniform(shape, low: -1, high: 1, rng: RNG(seed: 3))
            // Evaluation with frozen weight and bias (an attack's backward) takes the kernel's direct path.
            for (training, frozen) in [(true, false), (false, false), (false, true)] {
                c.w.requiresGrad = !frozen
                c.b.requiresGrad = !frozen
                defer { c.w.requiresGrad = true; c.b.requiresGrad = true }
                for act in [NormActivation.gelu, .relu] {
                    for withResidual in [false, true] {
                        let label = "\(shape) training \(training) frozen \(frozen) \(act) residual \(withResidual)"
                        let separate = try run(c, seed: seed) { c, rm, rv in
                            var y = try Tensor.batchNorm(c.x, weight: c.w, bias: c.b, runningMean: rm, runningVar: rv,
                                                         training: training)
                            if withResidual { y = try y.add(c.r) }
                            return act == .gelu ? y.gelu() : y.relu()
                        }
                        let fused = try run(c, seed: seed) { c, rm, rv in
                            try Tensor.batchNorm(c.x, weight: c.w, bias: c.b, runningMean: rm, runningVar: rv, training: training,
                                                 residual: withResidual ? c.r : nil, act: act)
                        }
                        let names = ["output", "dx", "dweight", "dbias", "dresidual"]
                        for (i, name) in names.enumerated() {
                            XCTAssertEqual(fused[i], separate[i], "\(label): \(name) differs")
                        }
                    }
                }
            }
        }
    }

    func testFusedGradientsAgainstFiniteDifferences() {
        let c = Case([2, 3, 3, 3], seed: 21)
        for training in [true, false] {
            gradCheck("bn + residual + gelu, training \(training)", c.leaves, rtol: 5e-2) {
                try Tensor.batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: c.rm.copy(), runningVar: c.rv.copy(),
                                     training: training, residual: $0[3], act: .gelu)
            }
            gradCheck("bn + gelu, training \(training)", Array(c.leaves.prefix(3)), rtol: 5e-2) {
                try Tensor.batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: c.rm.copy(), runningVar: c.rv.copy(),
                                     training: training, act: .gelu)
            }
        }
    }

    func testResidualOfAnotherShapeIsAnError() {
        let c = Case([2, 3, 4, 4], seed: 31)
        XCTAssertThrowsError(try Tensor.batchNorm(c.x, weight: c.w, bias: c.b, runningMean: nil, runningVar: nil, training: true,
                                                  residual: rnd([2, 3, 4, 1], seed: 1), act: .gelu)) { e in
            XCTAssertTrue("\(e)".contains("residual"), "\(e)")
        }
    }
}
