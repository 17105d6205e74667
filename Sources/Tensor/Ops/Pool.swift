// Pooling: average (count_include_pad true/false), max, global average.
// x: (N, C, H, W) -> (N, C, Ho, Wo); globalAvgPool -> (N, C)
import CKernels

extension Tensor {
    private func poolGeometry(_ op: String, _ k: Int, _ s: Int, _ p: Int) throws -> (Int, Int) {
        guard rank == 4 else { throw EngineError.shape("\(op): needs (N, C, H, W), got \(shape)") }
        guard k >= 1, s >= 1, p >= 0, p * 2 <= k else {
            throw EngineError.invalidArgument("\(op): kernel \(k), stride \(s) must be >= 1 and padding \(p) in [0, kernel/2]")
        }
        let ho = (shape[2] + 2 * p - k) / s + 1, wo = (shape[3] + 2 * p - k) / s + 1
        guard shape[2] + 2 * p >= k, shape[3] + 2 * p >= k, ho > 0, wo > 0 else {
            throw EngineError.shape("\(op): kernel \(k) larger than padded input \(shape)")
        }
        return (ho, wo)
    }

    /// Average pooling over k x k windows (PyTorch avg_pool2d, floor mode).
    /// - Parameters:
    ///   - kernel: window size.
    ///   - stride: step (default: kernel).
    ///   - padding: implicit zeros on each side.
    ///   - countIncludePad: divide by k*k (true) or by the number of real pixels (false).
    public func avgPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0, countIncludePad: Bool = true) throws -> Tensor {
        let s = stride ?? kernel
        let (ho, wo) = try poolGeometry("avgPool2d", kernel, s, padding)
        let n = shape[0], c = shape[1], h = shape[2], w = shape[3]
        let out = Tensor(uninitialized: [n, c, ho, wo])  // every output is written
        // 1 / divisor per output position (same for every plane).
        let inv = Tensor(uninitialized: [ho * wo])
        let pinv = inv.ptr
        for oh in 0..<ho {
            for ow in 0..<wo {
                let h0 = oh * s - padding, w0 = ow * s - padding
                let hs = Swift.max(h0, 0), he = Swift.min(h0 + kernel, h)
                let ws = Swift.max(w0, 0), we = Swift.min(w0 + kernel, w)
                let cnt = countIncludePad
                    ? (Swift.min(h0 + kernel, h + padding) - h0) * (Swift.min(w0 + kernel, w + padding) - w0)
                    : (he - hs) * (we - ws)
                pinv[oh * wo + ow] = 1 / Float(Swift.max(cnt, 1))
            }
        }
        let px = ptr, po = out.ptr
        // CKernels/pool2d.c, planes split over threads.
        // (~9 reads per output: worth a thread from ~8k outputs.)
        Parallel.forEach(n * c, minChunk: Swift.max(1, 8192 / Swift.max(ho * wo, 1))) { r in
            adv_avgpool_forward(px, po, r.lowerBound, r.upperBound, h, w, ho, wo, kernel, s, padding, pinv)
        }
        let a = self.gradientHandle
        out.record([a]) { g in
            a.addGrad(Tensor.avgPool2dBackward(g, inputShape: a.shape, kernel: kernel, stride: s, padding: padding, inverseCounts: inv))
        }
        return out
    }

    /// The input gradient of `avgPool2d`: each output's gradient times 1/divisor, spread over its window.
    /// - Parameters:
    ///   - g: (N, C, Ho, Wo) the output gradient
    ///   - inputShape: (N, C, H, W)
    ///   - inverseCounts: (Ho * Wo) 1 / divisor per output position, as the forward pass computed it
    /// - Returns: (N, C, H, W)
    static func avgPool2dBackward(_ g: Tensor, inputShape: [Int], kernel: Int, stride s: Int, padding: Int, inverseCounts inv: Tensor) -> Tensor {
        let n = inputShape[0], c = inputShape[1], h = inputShape[2], w = inputShape[3]
        let ho = g.shape[2], wo = g.shape[3]
        let gx = Tensor(zeros: inputShape)
        let pg = g.ptr, pgx = gx.ptr, pinv = inv.ptr
        // Planes in parallel: each writes only its own plane of gx.
        Parallel.forEach(n * c, minChunk: Swift.max(1, 8192 / Swift.max(h * w, 1))) { r in
            adv_avgpool_backward(pg, pgx, r.lowerBound, r.upperBound, h, w, ho, wo, kernel, s, padding, pinv)
        }
        return gx
    }

    /// Max pooling over k x k windows (padding is -inf, as PyTorch); the gradient goes to the
    /// first maximal element of each window.
    /// - Parameters:
    ///   - kernel: window size.
    ///   - stride: step (default: kernel).
    ///   - padding: implicit -inf on each side.
    public func maxPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) throws -> Tensor {
        let s = stride ?? kernel
        let (ho, wo) = try poolGeometry("maxPool2d", kernel, s, padding)
        let n = shape[0], c = shape[1], h = shape[2], w = shape[3]
        let out = Tensor(uninitialized: [n, c, ho, wo])  // every output is written
        let px = ptr, po = out.ptr
        // CKernels/pool2d.c, planes split over threads; the window maxima's offsets (arg) only
        // when backward will need them.
        func pool(_ arg: UnsafeMutablePointer<Int32>?) {
            Parallel.forEach(n * c, minChunk: Swift.max(1, 8192 / Swift.max(ho * wo, 1))) { r in
                adv_maxpool_forward(px, po, arg, r.lowerBound, r.upperBound, h, w, ho, wo, kernel, s, padding)
            }
        }
        guard Tensor.needsGrad([self]) else { pool(nil); return out }
        let arg = [Int32](unsafeUninitializedCapacity: out.count) { b, count in pool(b.baseAddress); count = out.count }
        let a = self.gradientHandle
        out.record([a]) { g in a.addGrad(Tensor.maxPool2dBackward(g, inputShape: a.shape, argmax: arg)) }
        return out
    }

    /// The input gradient of `maxPool2d`: each output's gradient goes to its window's maximum.
    /// - Parameters:
    ///   - g: (N, C, Ho, Wo) the output gradient
    ///   - inputShape: (N, C, H, W)
    ///   - argmax: (N * C * Ho * Wo) offset of each window's maximum in its (H, W) plane (-1: none)
    /// - Returns: (N, C, H, W)
    static func maxPool2dBackward(_ g: Tensor, inputShape: [Int], argmax arg: [Int32]) -> Tensor {
        let planes = inputShape[0] * inputShape[1], hw = inputShape[2] * inputShape[3]
        let howo = g.shape[2] * g.shape[3]
        let gx = Tensor(zeros: inputShape)
        let pg = g.ptr, pgx = gx.ptr
        arg.withUnsafeBufferPointer { ab in
            guard let pa = ab.baseAddress else { return }
            // Planes in parallel: each adds only into its own plane, in output order (CKernels/pool2d.c).
            Parallel.forEach(planes, minChunk: Swift.max(1, 8192 / Swift.max(hw, 1))) { r in
                adv_maxpool_backward(pg, pa, pgx, r.lowerBound, r.upperBound, hw, howo)
            }
        }
        return gx
    }

    /// Mean over H and W: (N, C, H, W) -> (N, C).
    public func globalAvgPool() throws -> Tensor {
        guard rank == 4 else { throw EngineError.shape("globalAvgPool: needs (N, C, H, W), got \(shape)") }
        return try mean(axes: [2, 3])
    }
}
