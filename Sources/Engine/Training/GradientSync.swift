// Averaging gradients over the processes of a data-parallel run (docs/distributed.md), in fp32
// whatever the training precision, in buckets of about `bucketBytes` filled in reverse parameter
// order as PyTorch DDP fills them (the order the backward pass finishes them). Our autograd has
// no per-parameter "gradient ready" hook, so the buckets are reduced right after the backward
// pass of the step's last micro-batch rather than overlapping it.
import Tensor

/// Sums every parameter's gradient over the processes and divides by their number.
public struct GradientSync {
    /// Parameter indices of each bucket (reverse parameter order).
    public let buckets: [[Int]]
    let params: [NamedTensor]
    let collective: Collective

    /// - Parameters:
    ///   - params: the parameters, in the same order on every process.
    ///   - collective: the processes.
    ///   - bucketBytes: a bucket closes when it holds at least this many bytes (DDP: 25 MiB).
    public init(params: [NamedTensor], collective: Collective, bucketBytes: Int = 25 << 20) {
        self.params = params
        self.collective = collective
        var buckets: [[Int]] = [], current: [Int] = [], bytes = 0
        for i in params.indices.reversed() {
            current.append(i)
            bytes += 4 * params[i].tensor.count
            if bytes >= bucketBytes { buckets.append(current); current = []; bytes = 0 }
        }
        if !current.isEmpty { buckets.append(current) }
        self.buckets = buckets
    }

    /// Bytes of fp32 gradients one step reduces (what a process sends and receives in a ring allreduce).
    public var gradientBytes: Int { params.reduce(0) { $0 + 4 * $1.tensor.count } }

    /// Replaces each gradient by its mean over the processes. A parameter without a gradient on
    /// this process counts as zeros; it gets a gradient when any process has one (a flag per
    /// parameter travels with the bucket), so every process steps the same parameters.
    public func average() throws {
        let scale = 1 / Float(collective.size)
        for bucket in buckets {
            let total = bucket.reduce(0) { $0 + params[$1].tensor.count } + bucket.count
            var buffer = [Float](repeating: 0, count: total)
            try buffer.withUnsafeMutableBufferPointer { b in
                guard let base = b.baseAddress else { return }
                var offset = bucket.count  // the first `bucket.count` floats are the has-gradient flags
                for (k, i) in bucket.enumerated() {
                    let t = params[i].tensor
                    if let g = t.grad { base[k] = 1; (base + offset).update(from: g.ptr, count: t.count) }
                    offset += t.count
                }
                try collective.sum(base, count: total)
                offset = bucket.count
                for (k, i) in bucket.enumerated() {
                    let t = params[i].tensor
                    defer { offset += t.count }
                    guard base[k] > 0 else { continue }
                    if t.grad == nil { t.addGrad(Tensor(zeros: t.shape)) }
                    guard let g = t.grad else { continue }
                    for j in 0..<t.count { g.ptr[j] = base[offset + j] * scale }
                }
            }
        }
    }
}
