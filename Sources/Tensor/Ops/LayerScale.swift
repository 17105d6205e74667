// Layer-scaled residual branches of NCHW networks, each one pass over the data each way
// (CKernels/layerscale.c, CKernels/poolmix.c):
//   scaledResidual:  x + scale[c] * k[n] * y         (y (N, C, ...), or channels-last (N, H, W, C))
//   poolMixer:       x + scale[c] * k[n] * (avgPool2d(n, 3, 1, 1, countIncludePad: false) - n)
// (PoolFormer's token mixer with its layer scale and residual, timm's metaformer.py). k is an
// optional per-sample factor: drop path's mask over the keep probability.
// x, y, n: (N, C, ...) (poolMixer: (N, C, H, W)), scale: (C), k: N values -> (N, C, ...)
//
// Unfused, a block's mixer is four full-size passes forward (pool, sub, mul, add) and more
// backward, and the graph keeps every intermediate. Here only the branch input is kept; the
// scale's gradient sums per plane, then per channel over the samples in order, so it does not
// depend on the thread count.
import CKernels

extension Tensor {
    /// x + scale[c] * sampleScale[n] * y over (N, C, ...).
    /// - Parameters:
    ///   - x: (N, C, ...) the residual; y: the branch, the same shape
    ///   - scale: (C) the layer scale
    ///   - sampleScale: N per-sample factors (drop path), or nil (1)
    public static func scaledResidual(_ x: Tensor, _ y: Tensor, scale: Tensor, sampleScale: [Float]? = nil) throws -> Tensor {
        try checkLayerScale("scaledResidual", x, y, scale, sampleScale)
        let planes = x.shape[0] * x.shape[1], c = x.shape[1], hw = x.count / Swift.max(planes, 1)
        let out = Tensor(uninitialized: x.shape)
        withSampleScale(sampleScale) { pk in
            let px = x.ptr, py = y.ptr, ps = scale.ptr, po = out.ptr
            Parallel.forEach(planes, minChunk: Swift.max(1, 65536 / Swift.max(hw, 1))) { r in
                adv_scale_residual_forward(px, py, ps, pk, po, c, hw, r.lowerBound, r.upperBound)
            }
        }
        let x = x.gradientHandle  // its gradient is g: the values are not read
        out.record([x, y, scale]) { g in
            if x.requiresGrad { x.addGrad(g) }
            let gy = y.requiresGrad ? Tensor(uninitialized: y.shape) : nil
            var gs: [Float]? = scale.requiresGrad ? [Float](repeating: 0, count: planes) : nil
            planeSums(&gs) { pgs in
                withSampleScale(sampleScale) { pk in
                    let pg = g.ptr, py = y.ptr, ps = scale.ptr, pgy = gy?.ptr
                    Parallel.forEach(planes, minChunk: Swift.max(1, 65536 / Swift.max(hw, 1))) { r in
                        adv_scale_residual_backward(pg, py, ps, pk, pgy, pgs, c, hw, r.lowerBound, r.upperBound)
                    }
                }
            }
            if let gy = gy { y.addGrad(gy) }
            if let gs = gs { scale.addGrad(channelSums(gs, channels: c)) }
        }
        return out
    }

    /// x + scale[c] * sampleScale[n] * y(n, h, w, c): `scaledResidual` with a channels-last branch
    /// (ConvNeXt's MLP output), so the permute back to NCHW is part of the one pass.
    /// - Parameters:
    ///   - x: (N, C, H, W) the residual
    ///   - y: (N, H, W, C) the branch
    ///   - scale: (C) the layer scale
    ///   - sampleScale: N per-sample factors (drop path), or nil (1)
    public static func scaledResidual(_ x: Tensor, channelsLast y: Tensor, scale: Tensor, sampleScale: [Float]? = nil) throws -> Tensor {
        guard x.rank == 4, y.shape == [x.shape[0], x.shape[2], x.shape[3], x.shape[1]] else {
            throw EngineError.shape("scaledResidual: needs x (N, C, H, W) and the branch (N, H, W, C), got \(x.shape) and \(y.shape)")
        }
        try checkLayerScale("scaledResidual", x, x, scale, sampleScale)
        let n = x.shape[0], c = x.shape[1], hw = x.shape[2] * x.shape[3]
        // Units of (sample, 16 channels), each a strip of 16 planes: ~16 hw floats of work.
        let units = n * ((c + 15) / 16)
        let minUnits = Swift.max(1, 65536 / Swift.max(16 * hw, 1))
        let out = Tensor(uninitialized: x.shape)
        withSampleScale(sampleScale) { pk in
            let px = x.ptr, py = y.ptr, ps = scale.ptr, po = out.ptr
            Parallel.forEach(units, minChunk: minUnits) { r in
                adv_scale_residual_cl_forward(px, py, ps, pk, po, c, hw, r.lowerBound, r.upperBound)
            }
        }
        let x = x.gradientHandle  // its gradient is g: the values are not read
        out.record([x, y, scale]) { g in
            if x.requiresGrad { x.addGrad(g) }
            let gy = y.requiresGrad ? Tensor(uninitialized: y.shape) : nil
            var gs: [Float]? = scale.requiresGrad ? [Float](repeating: 0, count: n * c) : nil
            planeSums(&gs) { pgs in
                withSampleScale(sampleScale) { pk in
                    let pg = g.ptr, py = y.ptr, ps = scale.ptr, pgy = gy?.ptr
                    Parallel.forEach(units, minChunk: minUnits) { r in
                        adv_scale_residual_cl_backward(pg, py, ps, pk, pgy, pgs, c, hw, r.lowerBound, r.upperBound)
                    }
                }
            }
            if let gy = gy { y.addGrad(gy) }
            if let gs = gs { scale.addGrad(channelSums(gs, channels: c)) }
        }
        return out
    }

    /// x + scale[c] * sampleScale[n] * (avgPool2d(n, kernel: 3, stride: 1, padding: 1,
    /// countIncludePad: false) - n): PoolFormer's pooling token mixer with its layer scale and residual.
    /// - Parameters:
    ///   - x: (N, C, H, W) the residual
    ///   - normed: (N, C, H, W) the mixer's input (the block's first norm of x)
    ///   - scale: (C) the layer scale
    ///   - sampleScale: N per-sample factors (drop path), or nil (1)
    public static func poolMixer(_ x: Tensor, normed n: Tensor, scale: Tensor, sampleScale: [Float]? = nil) throws -> Tensor {
        guard x.rank == 4 else { throw EngineError.shape("poolMixer: needs (N, C, H, W), got \(x.shape)") }
        try checkLayerScale("poolMixer", x, n, scale, sampleScale)
        let c = x.shape[1], h = x.shape[2], w = x.shape[3], planes = x.shape[0] * c
        let out = Tensor(uninitialized: x.shape)
        let scratch = adv_poolmix_scratch(w)
        withSampleScale(sampleScale) { pk in
            let px = x.ptr, pn = n.ptr, ps = scale.ptr, po = out.ptr
            // ~10 reads and writes per output: a thread from ~8k outputs.
            Parallel.forEach(planes, minChunk: Swift.max(1, 8192 / Swift.max(h * w, 1))) { r in
                let buf = UnsafeMutablePointer<Float>.allocate(capacity: scratch)
                defer { buf.deallocate() }
                adv_poolmix_forward(px, pn, ps, pk, po, c, h, w, r.lowerBound, r.upperBound, buf)
            }
        }
        let x = x.gradientHandle  // its gradient is g: the values are not read
        out.record([x, n, scale]) { g in
            if x.requiresGrad { x.addGrad(g) }
            let gn = n.requiresGrad ? Tensor(uninitialized: n.shape) : nil
            var gs: [Float]? = scale.requiresGrad ? [Float](repeating: 0, count: planes) : nil
            planeSums(&gs) { pgs in
                withSampleScale(sampleScale) { pk in
                    let pg = g.ptr, pn = n.ptr, ps = scale.ptr, pgn = gn?.ptr
                    Parallel.forEach(planes, minChunk: Swift.max(1, 8192 / Swift.max(h * w, 1))) { r in
                        let buf = UnsafeMutablePointer<Float>.allocate(capacity: scratch)
                        defer { buf.deallocate() }
                        adv_poolmix_backward(pg, pn, ps, pk, pgn, pgs, c, h, w, r.lowerBound, r.upperBound, buf)
                    }
                }
            }
            if let gn = gn { n.addGrad(gn) }
            if let gs = gs { scale.addGrad(channelSums(gs, channels: c)) }
        }
        return out
    }

    /// Checks a layer-scaled residual's operands: x and the branch (N, C, ...) alike, scale (C),
    /// sampleScale N values.
    private static func checkLayerScale(_ op: String, _ x: Tensor, _ y: Tensor, _ scale: Tensor, _ k: [Float]?) throws {
        guard x.rank >= 2, y.shape == x.shape else {
            throw EngineError.shape("\(op): needs x and the branch alike as (N, C, ...), got \(x.shape) and \(y.shape)")
        }
        guard scale.shape == [x.shape[1]] else {
            throw EngineError.shape("\(op): scale \(scale.shape) does not fit the \(x.shape[1]) channels of \(x.shape)")
        }
        if let k = k, k.count != x.shape[0] {
            throw EngineError.shape("\(op): sampleScale has \(k.count) values for \(x.shape[0]) samples")
        }
    }

    /// Calls `body` with the per-sample factors' pointer (nil when there are none).
    private static func withSampleScale(_ k: [Float]?, _ body: (UnsafePointer<Float>?) -> Void) {
        guard let k = k else { body(nil); return }
        k.withUnsafeBufferPointer { body($0.baseAddress) }
    }

    /// Calls `body` with a pointer to the per-plane sums (nil when not wanted).
    private static func planeSums(_ sums: inout [Float]?, _ body: (UnsafeMutablePointer<Float>?) -> Void) {
        guard sums != nil else { body(nil); return }
        sums!.withUnsafeMutableBufferPointer { body($0.baseAddress) }
    }

    /// (C): per-plane sums (N * C) added per channel over the samples, in sample order.
    private static func channelSums(_ sums: [Float], channels c: Int) -> Tensor {
        let t = Tensor(zeros: [c])
        for i in 0..<(sums.count / Swift.max(c, 1)) { for ch in 0..<c { t.ptr[ch] += sums[i * c + ch] } }
        return t
    }
}
