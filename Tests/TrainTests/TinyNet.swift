// A two-layer perceptron implementing `Model`, so the training tests do not depend on the five
// architectures. Dropout draws from RNG.global (like drop path in the real models), so resume
// tests cover the global generator's state. `poison` makes chosen forward calls return NaN.
import Engine
import Tensor

final class TinyNet: Model {
    let name = "tinynet"
    let classes: Int
    let inputShape: (channels: Int, height: Int, width: Int)
    var isTraining = true
    var precision: Precision = .fp32
    var trainedPrecision: Precision? = nil
    let restartBatchLimit = RestartBatchLimit.standard
    let fc1w: Tensor, fc1b: Tensor, fc2w: Tensor, fc2b: Tensor
    var dropout: Float = 0.1
    /// Training-mode forward calls so far, and which of them return NaN logits.
    var trainCalls = 0
    var poison: (Int) -> Bool = { _ in false }
    /// Called with the number of training-mode forwards (to raise Interrupt.requested in tests).
    var onTrainForward: (Int) -> Void = { _ in }
    /// Forward calls made by attacks (evaluation mode, graph recorded), and a hook on them.
    var attackCalls = 0
    var onAttackForward: (Int) -> Void = { _ in }
    /// Forward calls in evaluation mode without a graph (fit's clean-accuracy measurements).
    var cleanCalls = 0

    init(channels: Int, image: Int, hidden: Int, classes: Int, seed: UInt64) {
        self.classes = classes
        inputShape = (channels, image, image)
        let inF = channels * image * image
        let rng = RNG(seed: seed)
        func uniform(_ shape: [Int], _ bound: Float) -> Tensor {
            let t = Tensor(zeros: shape)
            for i in 0..<t.count { t.ptr[i] = (rng.uniform() * 2 - 1) * bound }
            t.requiresGrad = true
            return t
        }
        fc1w = uniform([hidden, inF], 1 / Float(inF).squareRoot())
        fc1b = uniform([hidden], 1 / Float(inF).squareRoot())
        fc2w = uniform([classes, hidden], 1 / Float(hidden).squareRoot())
        fc2b = uniform([classes], 1 / Float(hidden).squareRoot())
    }

    func forward(_ x: Tensor) throws -> Tensor {
        let n = x.shape[0]
        var h = try Tensor.linear(x.reshape([n, -1]), weight: fc1w, bias: fc1b, precision: precision).gelu()
        h = try h.dropout(p: dropout, rng: RNG.global, training: isTraining)
        let out = try Tensor.linear(h, weight: fc2w, bias: fc2b, precision: precision)
        if !isTraining && Autograd.isEnabled {
            attackCalls += 1
            onAttackForward(attackCalls)
        }
        if !isTraining && !Autograd.isEnabled { cleanCalls += 1 }
        if isTraining && Autograd.isEnabled {
            trainCalls += 1
            onTrainForward(trainCalls)
            if poison(trainCalls) { return out.mul(scalar: Float.nan) }
        }
        return out
    }

    func parameters() -> [NamedTensor] {
        [NamedTensor("fc1.weight", fc1w), NamedTensor("fc1.bias", fc1b),
         NamedTensor("fc2.weight", fc2w), NamedTensor("fc2.bias", fc2b)]
    }

    func buffers() -> [NamedTensor] { [] }

    func weights() -> [[Float]] { parameters().map { $0.tensor.toArray() } }
}
