// Scaled dot-product attention with an optional additive bias (relative position bias, masks).
// q, k, v: (B, H, T, D); bias broadcastable to (B, H, T, T) -> (B, H, T, D)

extension Tensor {
    /// softmax(q k^T * scale + bias) v.
    /// - Parameters:
    ///   - q: (B, H, T, D) queries
    ///   - k: (B, H, S, D) keys
    ///   - v: (B, H, S, Dv) values
    ///   - bias: added to the scores, broadcastable to (B, H, T, S) (use -inf or a large
    ///     negative number to mask); nil for none.
    ///   - scale: multiplies q k^T (usually 1/sqrt(D)).
    ///   - precision: rounding of the inputs of both products.
    public static func attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor?, scale: Float,
                                 precision: Precision = .current) throws -> Tensor {
        guard q.rank == 4, k.rank == 4, v.rank == 4,
              q.shape[0] == k.shape[0], q.shape[1] == k.shape[1], q.shape[3] == k.shape[3],
              v.shape[0] == k.shape[0], v.shape[1] == k.shape[1], v.shape[2] == k.shape[2] else {
            throw EngineError.shape("attention: q \(q.shape), k \(k.shape), v \(v.shape) must be (B, H, T, D), (B, H, S, D), (B, H, S, Dv)")
        }
        var scores = try matmul(q, k.transpose(2, 3), precision: precision).mul(scalar: scale)
        if let b = bias {
            let s = try Strided.broadcastShape(b.shape, scores.shape, op: "attention bias")
            guard s == scores.shape else {
                throw EngineError.shape("attention: bias \(b.shape) does not broadcast to scores \(scores.shape)")
            }
            scores = try scores.add(b)
        }
        return try matmul(scores.softmax(axis: -1), v, precision: precision)
    }
}
