// A tiny classifier for attack tests: (x - mean) / std -> flatten -> Linear -> ReLU -> Linear,
// with its own differentiable forward (input gradient only), so the attack tests depend on
// nothing but the Model protocol. Weights come from the torch fixture or a seeded RNG.
import Engine
import Tensor
import Foundation

final class TinyMLP: Model {
    let name = "tiny_mlp"
    let classes: Int
    let inputShape: (channels: Int, height: Int, width: Int)
    var isTraining = true
    var precision: Precision = .fp32
    var trainedPrecision: Precision? = nil
    let w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor
    let mean: Float, std: Float
    /// Counts forward calls (tests of batched restarts).
    var forwardCalls = 0
    /// When set, forward returns constant logits (a gradient-masked model for the sanity checks).
    var masked = false
    /// When non-nil, every forward input is copied here (debugging trajectories).
    var record: [Tensor]? = nil
    /// When set, forward throws once this many calls have been made (error-path tests).
    var failAfter: Int? = nil
    /// Images per batch of restarts in `RestartMode.auto` (the tests of auto restarts change it).
    var restartBatchLimit = RestartBatchLimit.standard

    init(w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor, shape: (Int, Int, Int), mean: Float = 0.5, std: Float = 0.25) {
        self.w1 = w1; self.b1 = b1; self.w2 = w2; self.b2 = b2
        self.classes = w2.shape[0]
        self.inputShape = (shape.0, shape.1, shape.2)
        self.mean = mean; self.std = std
    }

    /// Random weights from a seeded RNG (N(0, 1) / sqrt(fan_in) * 2).
    convenience init(seed: UInt64, shape: (Int, Int, Int) = (1, 8, 8), hidden: Int = 32, classes: Int = 10) {
        let rng = RNG(seed: seed)
        let d = shape.0 * shape.1 * shape.2
        func t(_ s: [Int], _ fan: Int) -> Tensor {
            let x = Tensor(zeros: s)
            for k in 0..<x.count { x.ptr[k] = rng.normal() * 2 / Float(fan).squareRoot() }
            return x
        }
        self.init(w1: t([hidden, d], d), b1: t([hidden], d), w2: t([classes, hidden], hidden), b2: t([classes], hidden), shape: shape)
    }

    func parameters() -> [NamedTensor] {
        [NamedTensor("fc1.weight", w1), NamedTensor("fc1.bias", b1), NamedTensor("fc2.weight", w2), NamedTensor("fc2.bias", b2)]
    }
    func buffers() -> [NamedTensor] { [] }

    // x: (N, C, H, W) -> (N, K)
    func forward(_ x: Tensor) throws -> Tensor {
        forwardCalls += 1
        record?.append(x.copy())
        if let f = failAfter, forwardCalls > f { throw EngineError.numeric("tiny_mlp: injected failure") }
        let n = x.shape[0], d = x.count / max(n, 1), h = w1.shape[0], k = w2.shape[0]
        guard d == w1.shape[1] else { throw EngineError.shape("tiny_mlp: input \(x.shape)") }
        let out = Tensor(zeros: [n, k])
        if masked { return out }
        var hid = [Float](repeating: 0, count: n * h)
        let xp = x.ptr, a = w1.ptr, b = w2.ptr, o = out.ptr
        for i in 0..<n {
            for j in 0..<h {
                // float64 accumulation keeps the sum close to torch's float32 result
                var s = Double(b1.ptr[j])
                for q in 0..<d { s += Double(a[j * d + q]) * Double((xp[i * d + q] - mean) / std) }
                hid[i * h + j] = max(Float(s), 0)
            }
            for c in 0..<k {
                var s = Double(b2.ptr[c])
                for j in 0..<h { s += Double(b[c * h + j]) * Double(hid[i * h + j]) }
                o[i * k + c] = Float(s)
            }
        }
        let inv = 1 / std
        out.record([x]) { g in
            let gx = Tensor(zeros: x.shape)
            let gp = g.ptr, gxp = gx.ptr
            for i in 0..<n {
                for j in 0..<h where hid[i * h + j] > 0 {
                    var s: Float = 0
                    for c in 0..<k { s += gp[i * k + c] * b[c * h + j] }
                    for q in 0..<d { gxp[i * d + q] += s * a[j * d + q] * inv }
                }
            }
            x.addGrad(gx)
        }
        return out
    }
}

/// A torch fixture with a TinyMLP's weights: Fixtures/attacks.safetensors
/// (scripts/fixtures/gen_attacks.py) or Fixtures/autoattack.safetensors (gen_autoattack.py).
struct AttackFixture {
    let tensors: [String: Tensor]
    let meta: [String: String]
    let model: TinyMLP

    init(_ resource: String = "attacks") throws {
        guard let url = Bundle.module.url(forResource: resource, withExtension: "safetensors", subdirectory: "Fixtures") else {
            throw EngineError.io("fixture Fixtures/\(resource).safetensors missing from the test bundle")
        }
        let r = try Safetensors.read(url.path)
        tensors = r.tensors
        meta = r.metadata
        func get(_ k: String) throws -> Tensor {
            guard let t = r.tensors[k] else { throw EngineError.io("fixture lacks \(k)") }
            return t
        }
        model = TinyMLP(w1: try get("fc1.weight"), b1: try get("fc1.bias"), w2: try get("fc2.weight"), b2: try get("fc2.bias"),
                        shape: (1, 8, 8), mean: Float(meta["mean"] ?? "0.5") ?? 0.5, std: Float(meta["std"] ?? "0.25") ?? 0.25)
    }

    func t(_ k: String) throws -> Tensor {
        guard let t = tensors[k] else { throw EngineError.io("fixture lacks \(k)") }
        return t
    }
    func float(_ k: String) -> Float { Float(meta[k] ?? "") ?? .nan }
    var labels: [Int] { (tensors["labels"]?.toArray() ?? []).map { Int($0) } }
}
