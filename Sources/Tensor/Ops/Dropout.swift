// Dropout and drop path (stochastic depth), both scaling kept values by 1/(1-p).
// x: any shape -> same shape (dropPath masks whole samples along dim 0)
// No backward of their own: both multiply by a mask tensor (`mul` records the gradient).

extension Tensor {
    /// Zeroes each element with probability `p` and scales the rest by 1/(1-p); identity when
    /// not training or p == 0.
    /// - Parameters:
    ///   - p: drop probability in [0, 1).
    ///   - rng: the generator for the mask.
    ///   - training: false makes this the identity.
    public func dropout(p: Float, rng: RNG = RNG.global, training: Bool) throws -> Tensor {
        guard p >= 0 && p < 1 else { throw EngineError.invalidArgument("dropout: p must be in [0, 1), got \(p)") }
        if !training || p == 0 { return self }
        let mask = Tensor(zeros: shape)
        let scale = 1 / (1 - p)
        for i in 0..<count { mask.ptr[i] = rng.uniform() < p ? 0 : scale }
        return try mul(mask)
    }

    /// Drops whole samples (dim 0) with probability `p`, scaling survivors by 1/(1-p) (timm
    /// drop_path); identity when not training or p == 0.
    /// - Parameters:
    ///   - p: drop probability in [0, 1).
    ///   - rng: the generator for the mask.
    ///   - training: false makes this the identity.
    public func dropPath(p: Float, rng: RNG = RNG.global, training: Bool) throws -> Tensor {
        guard p >= 0 && p < 1 else { throw EngineError.invalidArgument("dropPath: p must be in [0, 1), got \(p)") }
        if !training || p == 0 || rank == 0 { return self }
        let mshape = [shape[0]] + [Int](repeating: 1, count: rank - 1)
        let mask = Tensor(zeros: mshape)
        let scale = 1 / (1 - p)
        for i in 0..<shape[0] { mask.ptr[i] = rng.bernoulli(Double(1 - p)) ? scale : 0 }
        return try mul(mask)
    }
}
