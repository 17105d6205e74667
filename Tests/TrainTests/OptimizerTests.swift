// AdamW and SGD (momentum, nesterov) against PyTorch: six steps with per-step learning rates and
// timm parameter groups (fixture from scripts/fixtures/gen_train.py).
import XCTest
@testable import Engine
@testable import Tensor

final class OptimizerTests: XCTestCase {
    func fixture() throws -> [String: Tensor] {
        guard let url = Bundle.module.url(forResource: "Fixtures/optim", withExtension: "safetensors") else {
            throw XCTSkip("fixture missing")
        }
        return try Safetensors.read(url.path).tensors
    }

    func params(_ f: [String: Tensor]) throws -> [NamedTensor] {
        try ["w", "b", "conv"].map { k in
            guard let t = f["init.\(k)"] else { throw EngineError.io("fixture lacks init.\(k)") }
            let p = t.copy(); p.requiresGrad = true
            return NamedTensor(k, p)
        }
    }

    func check(_ tag: String, make: ([ParameterGroup]) throws -> Optimizer, tol: Float) throws {
        let f = try fixture()
        let ps = try params(f)
        let groups = ParameterGroup.split(ps, weightDecay: tag == "adamw" ? 0.05 : 1e-4)
        XCTAssertEqual(groups.count, 2)
        XCTAssertEqual(groups[0].parameters.map(\.name), ["b"])      // 1-D: no decay
        XCTAssertEqual(groups[0].weightDecay, 0)
        XCTAssertEqual(groups[1].parameters.map(\.name), ["w", "conv"])
        let opt = try make(groups)
        for i in 0..<6 {
            let lr = Double(try XCTUnwrap(f["lr.\(i)"]).item)
            for p in ps { p.tensor.grad = try XCTUnwrap(f["grad.\(i).\(p.name)"]).copy() }
            try opt.step(lr: lr)
            for p in ps {
                let want = try XCTUnwrap(f["\(tag).\(i).\(p.name)"]).toArray()
                let got = p.tensor.toArray()
                for j in 0..<want.count {
                    XCTAssertEqual(got[j], want[j], accuracy: tol * max(1, abs(want[j])),
                                   "\(tag) step \(i) \(p.name)[\(j)]")
                }
            }
        }
        XCTAssertEqual(opt.stepCount, 6)
    }

    func testAdamWMatchesPyTorch() throws {
        try check("adamw", make: { try AdamW(groups: $0) }, tol: 2e-6)
    }

    func testSGDMomentumMatchesPyTorch() throws {
        try check("sgd", make: { try SGD(groups: $0, momentum: 0.9) }, tol: 2e-6)
    }

    func testSGDNesterovMatchesPyTorch() throws {
        try check("nesterov", make: { try SGD(groups: $0, momentum: 0.9, nesterov: true) }, tol: 2e-6)
    }

    func testAdamWStateRoundTrip() throws {
        // Two optimizers: one runs 4 steps; the other runs 2, saves, a fresh one loads and runs 2 more.
        func make() -> [NamedTensor] {
            let w = try! Tensor(shape: [2, 2], data: [1, -2, 3, 0.5]); w.requiresGrad = true
            let b = try! Tensor(shape: [2], data: [0.1, -0.1]); b.requiresGrad = true
            return [NamedTensor("w", w), NamedTensor("b", b)]
        }
        let grads: [[Float]] = [[0.1, 0.2, -0.3, 0.4], [1, -1, 0.5, 0.25], [-0.2, 0.3, 0.1, 0], [2, 0, -1, 1]]
        func feed(_ ps: [NamedTensor], _ k: Int) {
            ps[0].tensor.grad = try! Tensor(shape: [2, 2], data: grads[k])
            ps[1].tensor.grad = try! Tensor(shape: [2], data: [grads[k][0], grads[k][3]])
        }
        let a = make()
        let oa = try AdamW(groups: ParameterGroup.split(a, weightDecay: 0.1))
        for k in 0..<4 { feed(a, k); try oa.step(lr: 0.01) }
        let b = make()
        let ob = try AdamW(groups: ParameterGroup.split(b, weightDecay: 0.1))
        for k in 0..<2 { feed(b, k); try ob.step(lr: 0.01) }
        let saved = Dictionary(uniqueKeysWithValues: ob.stateTensors().map { ($0.name, $0.tensor.copy()) })
        let oc = try AdamW(groups: ParameterGroup.split(b, weightDecay: 0.1))
        try oc.loadState(saved)
        for k in 2..<4 { feed(b, k); try oc.step(lr: 0.01) }
        XCTAssertEqual(a[0].tensor.toArray(), b[0].tensor.toArray())
        XCTAssertEqual(a[1].tensor.toArray(), b[1].tensor.toArray())
    }

    func testNoDecayRules() {
        let w = NamedTensor("blocks.0.attn.qkv.weight", Tensor(zeros: [6, 2]))
        let bias = NamedTensor("head.bias", Tensor(zeros: [3]))
        let pos = NamedTensor("pos_embed", Tensor(zeros: [1, 5, 2]))
        let rel = NamedTensor("layers.0.blocks.0.attn.relative_position_bias_table", Tensor(zeros: [9, 2]))
        XCTAssertFalse(ParameterGroup.isNoDecay(w))
        XCTAssertTrue(ParameterGroup.isNoDecay(bias))
        XCTAssertTrue(ParameterGroup.isNoDecay(pos))
        XCTAssertTrue(ParameterGroup.isNoDecay(rel))
        // weight decay 0: everything in one group without decay
        XCTAssertEqual(ParameterGroup.split([w, bias], weightDecay: 0).count, 1)
    }

    func testBadArguments() {
        XCTAssertThrowsError(try AdamW(groups: [], betas: (1.0, 0.999)))
        XCTAssertThrowsError(try SGD(groups: [], momentum: 0, nesterov: true))
        let p = NamedTensor("w", Tensor(zeros: [2]))
        XCTAssertThrowsError(try AdamW(groups: [ParameterGroup(parameters: [p, p], weightDecay: 0)]))
    }
}
