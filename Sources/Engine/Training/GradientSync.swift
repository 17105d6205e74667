// Averaging gradients over the processes of a data-parallel run (docs/distributed.md), as
// PyTorch DDP's reducer does: the parameters are cut into buckets in reverse registration order
// (the order the backward pass finishes them), the first bucket small (1 MiB) so communication
// starts early, the others about 25 MiB (DDP's bucket_cap_mb). During the backward pass of a
// step's last micro-batch the autograd reports each parameter whose gradient is final
// (`Tensor.backward(gradientReady:)`); when a bucket's parameters are all final its fp32 sum
// over the processes starts (nonblocking), and every report lets the sums in flight progress, so
// the transfer overlaps the rest of the backward. Buckets start strictly in order (bucket k
// after bucket k-1), so every process issues the same collectives in the same order whatever
// its timing, and the sum of each bucket, hence the result, does not depend on timing.
// `finish` starts what is left (parameters without a gradient), waits for all and writes the
// means back before the optimizer step. Gradients are fp32 whatever the training precision.
import Tensor

/// Sums every parameter's gradient over the processes and divides by their number.
public final class GradientSync {
    /// Parameter indices of each bucket (reverse parameter order).
    public let buckets: [[Int]]
    /// Whether buckets start during the backward pass (else all start after it).
    public let overlap: Bool
    let params: [NamedTensor]
    let collective: Collective
    /// The bucket of each parameter tensor.
    let bucketOf: [ObjectIdentifier: Int]
    /// Each bucket's fp32 buffer: one has-gradient flag per parameter, then the gradients.
    let buffers: [UnsafeMutableBufferPointer<Float>]
    /// Per step: parameters of each bucket not final yet, buckets started, sums in flight.
    var waiting: [Int] = []
    var started = 0
    var inFlight: [CollectiveRequest?] = []
    /// The first failure inside the backward's hook (which cannot throw), rethrown by `finish`.
    var failure: Error?

    /// - Parameters:
    ///   - params: the parameters, in the same order on every process.
    ///   - collective: the processes.
    ///   - bucketBytes: a bucket closes when it holds at least this many bytes (DDP: 25 MiB).
    ///   - firstBucketBytes: the same for the first bucket (DDP: 1 MiB).
    ///   - overlap: start buckets during the backward pass (false: after it).
    public init(params: [NamedTensor], collective: Collective, bucketBytes: Int = 25 << 20,
                firstBucketBytes: Int = 1 << 20, overlap: Bool = true) {
        self.params = params
        self.collective = collective
        self.overlap = overlap
        var buckets: [[Int]] = [], current: [Int] = [], bytes = 0
        for i in params.indices.reversed() {
            current.append(i)
            bytes += 4 * params[i].tensor.count
            if bytes >= (buckets.isEmpty ? firstBucketBytes : bucketBytes) { buckets.append(current); current = []; bytes = 0 }
        }
        if !current.isEmpty { buckets.append(current) }
        self.buckets = buckets
        var bucketOf: [ObjectIdentifier: Int] = [:]
        for (b, bucket) in buckets.enumerated() { for i in bucket { bucketOf[ObjectIdentifier(params[i].tensor)] = b } }
        self.bucketOf = bucketOf
        buffers = buckets.map { bucket in
            let n = bucket.count + bucket.reduce(0) { $0 + params[$1].tensor.count }
            let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
            b.initialize(repeating: 0)
            return b
        }
        begin()
    }

    deinit { buffers.forEach { $0.deallocate() } }

    /// Bytes of fp32 gradients one step reduces (what a process sends and receives in a ring allreduce).
    public var gradientBytes: Int { params.reduce(0) { $0 + 4 * $1.tensor.count } }

    /// Starts a step: no bucket started, every parameter pending.
    public func begin() {
        waiting = buckets.map(\.count)
        started = 0
        inFlight = Array(repeating: nil, count: buckets.count)
        failure = nil
    }

    /// The hook for the backward pass of the step's last micro-batch (nil without overlap):
    /// `loss.backward(seed:, gradientReady: sync.readyHook)`.
    public var readyHook: ((Tensor) -> Void)? {
        overlap ? { [self] t in ready(t) } : nil
    }

    /// A parameter's gradient is final: start every bucket that is now complete (in order) and
    /// let the sums in flight progress.
    func ready(_ t: Tensor) {
        guard failure == nil, let b = bucketOf[ObjectIdentifier(t)] else { return }
        waiting[b] -= 1
        do {
            while started < buckets.count && waiting[started] == 0 { try start(started) }
            for k in 0..<started { if let r = inFlight[k], try r.test() { inFlight[k] = nil } }
        } catch {
            failure = error
        }
    }

    /// Copies bucket `b`'s gradients (zeros and flag 0 for a parameter without one) into its
    /// buffer and starts their sum over the processes.
    func start(_ b: Int) throws {
        let base = buffers[b].baseAddress!
        var offset = buckets[b].count
        for (k, i) in buckets[b].enumerated() {
            let t = params[i].tensor
            if let g = t.grad {
                base[k] = 1
                (base + offset).update(from: g.ptr, count: t.count)
            } else {
                base[k] = 0
                (base + offset).update(repeating: 0, count: t.count)
            }
            offset += t.count
        }
        inFlight[b] = try collective.startSum(base, count: buffers[b].count)
        started = b + 1
    }

    /// Starts the buckets not started during the backward pass (in order); rethrows a failure
    /// of the hook.
    public func startRemaining() throws {
        if let f = failure { throw f }
        while started < buckets.count { try start(started) }
    }

    /// Starts the buckets not started yet, waits for every sum and, when `apply`, replaces each
    /// gradient by its mean over the processes. A parameter without a gradient on this process
    /// counted as zeros; it gets one when any process had one (the flag), so every process
    /// steps the same parameters. With `apply` false (a step every process skips) the sums are
    /// still completed, so the processes stay in step.
    public func finish(apply: Bool = true) throws {
        try startRemaining()
        for b in buckets.indices {
            if let r = inFlight[b] { try r.wait(); inFlight[b] = nil }
        }
        guard apply else { return }
        let scale = 1 / Float(collective.size)
        for (b, bucket) in buckets.enumerated() {
            let base = buffers[b].baseAddress!
            var offset = bucket.count
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

    /// The whole average at once, after the backward passes (no overlap).
    public func average() throws {
        begin()
        try finish()
    }
}
