// Forward outputs and gradients against PyTorch (Fixtures/ops.safetensors, made by
// scripts/fixtures/gen_ops.py).
import Foundation
import XCTest
@testable import Engine
@testable import Tensor

final class FixtureTests: XCTestCase {
    nonisolated(unsafe) static var cache: [String: Tensor]?

    func fixtures() throws -> [String: Tensor] {
        if let c = FixtureTests.cache { return c }
        guard let url = Bundle.module.url(forResource: "ops", withExtension: "safetensors", subdirectory: "Fixtures") else {
            throw EngineError.io("Fixtures/ops.safetensors missing from the test bundle")
        }
        let t = try Safetensors.read(url.path).tensors
        FixtureTests.cache = t
        return t
    }

    /// Runs case `name`: `f` maps the named inputs (leaves requiring grad) to the output,
    /// compared with NAME.out; gradients of sum(out * NAME.r) compared with NAME.grad.*.
    func check(_ name: String, _ inputNames: [String], atol: Float = 1e-4, rtol: Float = 1e-4,
               file: StaticString = #filePath, line: UInt = #line,
               _ f: ([String: Tensor]) throws -> Tensor) throws {
        let fx = try fixtures()
        var inputs: [String: Tensor] = [:]
        for n in inputNames {
            guard let t = fx["\(name).\(n)"] else { XCTFail("\(name): no input \(n)", file: file, line: line); return }
            let c = t.copy()
            c.requiresGrad = true
            inputs[n] = c
        }
        let out = try f(inputs)
        guard let want = fx["\(name).out"] else { XCTFail("\(name): no output", file: file, line: line); return }
        assertClose(out, want, "\(name).out", atol, rtol, file, line)
        if let r = fx["\(name).r"] {
            try out.backward(seed: r)
            for n in inputNames {
                guard let wantG = fx["\(name).grad.\(n)"] else { continue }
                guard let g = inputs[n]?.grad else { XCTFail("\(name): no gradient for \(n)", file: file, line: line); continue }
                assertClose(g, wantG, "\(name).grad.\(n)", atol * 10, rtol * 10, file, line)
            }
        }
    }

    func assertClose(_ a: Tensor, _ b: Tensor, _ what: String, _ atol: Float, _ rtol: Float,
                     _ file: StaticString, _ line: UInt) {
        guard a.shape == b.shape else {
            XCTFail("\(what): shape \(a.shape) vs expected \(b.shape)", file: file, line: line)
            return
        }
        var worst: Float = 0, wi = -1
        for i in 0..<a.count {
            let d = Swift.abs(a.ptr[i] - b.ptr[i]) - (atol + rtol * Swift.abs(b.ptr[i]))
            if d > worst || d.isNaN { worst = d.isNaN ? .infinity : d; wi = i }
        }
        if wi >= 0 { XCTFail("\(what)[\(wi)]: \(a.ptr[wi]) vs expected \(b.ptr[wi])", file: file, line: line) }
    }

    func labels(_ name: String) throws -> [Int] {
        guard let t = try fixtures()["\(name).labels"] else { throw EngineError.io("\(name).labels missing") }
        return t.toArray().map { Int($0) }
    }

    func testElementwise() throws {
        try check("gelu", ["x"]) { $0["x"]!.gelu() }
        try check("softmax", ["x"]) { try $0["x"]!.softmax(axis: 1) }
        try check("log_softmax", ["x"]) { try $0["x"]!.logSoftmax(axis: -1) }
        try check("broadcast", ["a", "b"]) { i in
            let a = i["a"]!, b = i["b"]!
            return try a.add(b).mul(a.sub(b)).div(b.abs().add(scalar: 1))
        }
        try check("variance", ["x"]) { try $0["x"]!.variance(axes: [0, 2], unbiased: true) }
        try check("roll", ["x"]) { try $0["x"]!.roll(shifts: [2, -3], axes: [1, 2]) }
        try check("pad", ["x"]) { try $0["x"]!.pad([(0, 0), (0, 3), (2, 1)], value: 0.25) }
    }

    func testLinearAlgebra() throws {
        try check("matmul", ["a", "b"]) { try Tensor.matmul($0["a"]!, $0["b"]!, precision: .fp32) }
        try check("linear", ["x", "w", "b"]) { try Tensor.linear($0["x"]!, weight: $0["w"]!, bias: $0["b"]!, precision: .fp32) }
    }

    func testConvolutions() throws {
        let cases: [(String, (Int, Int), (Int, Int), Int)] = [
            ("conv3x3", (1, 1), (1, 1), 1), ("conv3x3s2", (2, 2), (1, 1), 1), ("conv1x1", (1, 1), (0, 0), 1),
            ("conv_grouped", (1, 1), (1, 1), 3), ("conv_dw7", (1, 1), (3, 3), 5), ("conv_dw3s2", (2, 2), (1, 1), 5),
            ("conv4x4s4", (4, 4), (0, 0), 1), ("conv2x2s2", (2, 2), (0, 0), 1), ("conv7x7s2", (2, 2), (3, 3), 1),
        ]
        for (name, s, p, g) in cases {
            try check(name, ["x", "w", "b"], atol: 2e-4) {
                try Tensor.conv2d($0["x"]!, weight: $0["w"]!, bias: $0["b"]!, stride: s, padding: p, groups: g, precision: .fp32)
            }
        }
    }

    func testPooling() throws {
        try check("avgpool_incl", ["x"]) { try $0["x"]!.avgPool2d(kernel: 3, stride: 2, padding: 1, countIncludePad: true) }
        try check("avgpool_excl", ["x"]) { try $0["x"]!.avgPool2d(kernel: 3, stride: 2, padding: 1, countIncludePad: false) }
        try check("maxpool", ["x"]) { try $0["x"]!.maxPool2d(kernel: 3, stride: 2, padding: 1) }
        try check("gap", ["x"]) { try $0["x"]!.globalAvgPool() }
    }

    func testNorms() throws {
        try check("layer_norm", ["x", "w", "b"]) { try Tensor.layerNorm($0["x"]!, weight: $0["w"]!, bias: $0["b"]!, eps: 1e-5) }
        try check("layer_norm2d", ["x", "w", "b"]) { try Tensor.layerNorm2d($0["x"]!, weight: $0["w"]!, bias: $0["b"]!, eps: 1e-6) }
        try check("group_norm", ["x", "w", "b"]) { try Tensor.groupNorm($0["x"]!, groups: 3, weight: $0["w"]!, bias: $0["b"]!, eps: 1e-5) }
        let rm = try Tensor(shape: [4], data: (0..<4).map { -0.5 + Float($0) / 3 })
        let rv = try Tensor(shape: [4], data: (0..<4).map { 0.5 + 1.5 * Float($0) / 3 })
        try check("batch_norm_train", ["x", "w", "b"]) {
            try Tensor.batchNorm($0["x"]!, weight: $0["w"]!, bias: $0["b"]!, runningMean: rm, runningVar: rv,
                                 training: true, momentum: 0.1, eps: 1e-5)
        }
        let fx = try fixtures()
        assertClose(rm, fx["batch_norm_train.running_mean"]!, "running_mean", 1e-5, 1e-5, #filePath, #line)
        assertClose(rv, fx["batch_norm_train.running_var"]!, "running_var", 1e-5, 1e-5, #filePath, #line)
        try check("batch_norm_eval", ["x", "w", "b"]) { i in
            try Tensor.batchNorm(i["x"]!, weight: i["w"]!, bias: i["b"]!, runningMean: fx["batch_norm_eval.rm"]!,
                                 runningVar: fx["batch_norm_eval.rv"]!, training: false, momentum: 0.1, eps: 1e-5)
        }
    }

    func testAttention() throws {
        for name in ["attention_bias", "attention_mask"] {
            try check(name, ["q", "k", "v", "bias"]) {
                try Tensor.attention(q: $0["q"]!, k: $0["k"]!, v: $0["v"]!, bias: $0["bias"]!, scale: 0.3, precision: .fp32)
            }
        }
    }

    func testLosses() throws {
        try check("ce_hard", ["logits"]) { try Tensor.crossEntropy($0["logits"]!, labels: self.labels("ce_hard")) }
        try check("ce_smooth", ["logits"]) {
            try Tensor.crossEntropy($0["logits"]!, labels: self.labels("ce_smooth"), labelSmoothing: 0.1)
        }
        try check("ce_soft", ["logits"]) { i in
            try Tensor.crossEntropy(i["logits"]!, targets: try self.fixtures()["ce_soft.targets"]!)
        }
        try check("ce_per_example", ["logits"]) {
            try Tensor.crossEntropyPerExample($0["logits"]!, labels: self.labels("ce_per_example"))
        }
    }
}
