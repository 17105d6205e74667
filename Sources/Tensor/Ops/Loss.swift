// Cross entropy: hard labels (with optional label smoothing), soft targets, per example.
// logits: (N, C) -> scalar mean (per example: (N,))
// No backward of their own: each is a composition of ops that record theirs (logSoftmax, gather,
// mean, mul).

extension Tensor {
    private static func checkLogits(_ logits: Tensor, _ n: Int, _ op: String) throws {
        guard logits.rank == 2 else { throw EngineError.shape("\(op): logits must be (N, C), got \(logits.shape)") }
        guard logits.shape[0] == n else {
            throw EngineError.shape("\(op): logits \(logits.shape) vs \(n) labels")
        }
        guard logits.shape[0] > 0, logits.shape[1] > 0 else {
            throw EngineError.shape("\(op): logits \(logits.shape) are empty")
        }
    }

    /// Mean cross entropy with integer labels; with smoothing e the target is
    /// (1 - e) onehot + e / C (PyTorch's label_smoothing).
    /// - Parameters:
    ///   - logits: (N, C)
    ///   - labels: N class indices in [0, C)
    ///   - labelSmoothing: e in [0, 1].
    public static func crossEntropy(_ logits: Tensor, labels: [Int], labelSmoothing: Float = 0) throws -> Tensor {
        try checkLogits(logits, labels.count, "crossEntropy")
        guard labelSmoothing >= 0 && labelSmoothing <= 1 else {
            throw EngineError.invalidArgument("crossEntropy: labelSmoothing must be in [0, 1], got \(labelSmoothing)")
        }
        let lp = try logits.logSoftmax(axis: 1)
        let nll = try lp.gather(labels: labels).mean().neg()
        if labelSmoothing == 0 { return nll }
        let smooth = lp.mean().neg() // mean over N and C of -log p
        return try nll.mul(scalar: 1 - labelSmoothing).add(smooth.mul(scalar: labelSmoothing))
    }

    /// Mean cross entropy with soft targets: -sum_c t log softmax(x) averaged over N.
    /// - Parameters:
    ///   - logits: (N, C)
    ///   - targets: (N, C) probabilities (rows need not sum to 1)
    public static func crossEntropy(_ logits: Tensor, targets: Tensor) throws -> Tensor {
        guard targets.shape == logits.shape else {
            throw EngineError.shape("crossEntropy: logits \(logits.shape) vs targets \(targets.shape)")
        }
        try checkLogits(logits, logits.rank == 2 ? logits.shape[0] : -1, "crossEntropy")
        let lp = try logits.logSoftmax(axis: 1)
        return try lp.mul(targets).sum().mul(scalar: -1 / Float(logits.shape[0]))
    }

    /// Cross entropy of each example: -log softmax(x)[i, labels[i]].
    /// - Parameters:
    ///   - logits: (N, C)
    ///   - labels: N class indices
    public static func crossEntropyPerExample(_ logits: Tensor, labels: [Int]) throws -> Tensor {
        try checkLogits(logits, labels.count, "crossEntropyPerExample")
        return try logits.logSoftmax(axis: 1).gather(labels: labels).neg()
    }
}
