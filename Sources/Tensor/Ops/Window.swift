// Swin's shifted windows, one pass each way (CKernels/swinwindow.c; docs/models.md, Swin):
//   windowPartition: (B, H, W, C) -> (B * nW, w * w, C): roll by -shift, pad to a multiple of the
//                    window, partition (timm's roll + pad + window_partition)
//   windowMerge:     (B * nW, w * w, C) -> (B, H, W, C): residual + k[b] * (window reverse, crop,
//                    roll by +shift) (timm's window_reverse + crop + roll, drop path, residual add)
// nW = ceil(H / w) * ceil(W / w). Each op's gradient is the other's pass: partition's is the
// merge of the output gradient (padding dropped), merge's is k[b] times the partition of it.
//
// Unfused, each direction was a roll, a pad, a permute and reshapes, whose gradients copy again;
// the values are the same (copies, and k * v + r rounded the way mul then add round it).
import CKernels

extension Tensor {
    /// The shifted windows of a channels-last map: roll by -shift on H and W, zero-pad H and W to
    /// multiples of `window`, split into windows.
    /// - Parameters:
    ///   - x: (B, H, W, C)
    ///   - window: the window's side w
    ///   - shift: the cyclic shift (0 <= shift < w; 0 for none)
    /// - Returns: (B * ceil(H / w) * ceil(W / w), w * w, C), windows row-major per image.
    public static func windowPartition(_ x: Tensor, window: Int, shift: Int) throws -> Tensor {
        guard x.rank == 4, window >= 1, shift >= 0, shift < window || shift == 0 else {
            throw EngineError.shape("windowPartition: needs x (B, H, W, C), window >= 1 and 0 <= shift < window, got \(x.shape), window \(window), shift \(shift)")
        }
        let b = x.shape[0], h = x.shape[1], wd = x.shape[2], c = x.shape[3]
        let count = b * ((h + window - 1) / window) * ((wd + window - 1) / window)
        let out = Tensor(uninitialized: [count, window * window, c])
        partitionRaw(x.ptr, into: out.ptr, h: h, wd: wd, c: c, window: window, shift: shift, windows: count, sampleScale: nil)
        let x = x.gradientHandle  // the gradient is a gather of g: x's values are not read
        out.record([x]) { g in
            let gx = Tensor(uninitialized: x.shape)
            mergeRaw(g.ptr, residual: nil, sampleScale: nil, into: gx.ptr, h: h, wd: wd, c: c, window: window, shift: shift, windows: count)
            x.addGrad(gx)
        }
        return out
    }

    /// residual + sampleScale[b] * (the windows put back into the map): windows reversed, the
    /// padding cropped and the map rolled by +shift (the inverse of `windowPartition`).
    /// - Parameters:
    ///   - windows: (B * ceil(H / w) * ceil(W / w), w * w, C)
    ///   - height, width: H and W of the map
    ///   - shift: the cyclic shift `windowPartition` took (0 <= shift < w)
    ///   - residual: (B, H, W, C) added, or nil
    ///   - sampleScale: B per-image factors (drop path), or nil (1)
    /// - Returns: (B, H, W, C)
    public static func windowMerge(_ windows: Tensor, height h: Int, width wd: Int, shift: Int,
                                   residual: Tensor? = nil, sampleScale: [Float]? = nil) throws -> Tensor {
        let n = windows.rank == 3 ? windows.shape[1] : 0
        let w = Int(Double(n).squareRoot().rounded())
        guard windows.rank == 3, w >= 1, w * w == n, h >= 1, wd >= 1, shift >= 0, shift < w || shift == 0 else {
            throw EngineError.shape("windowMerge: needs windows (B * nW, w * w, C), H, W >= 1 and 0 <= shift < w, got \(windows.shape), H \(h), W \(wd), shift \(shift)")
        }
        let per = ((h + w - 1) / w) * ((wd + w - 1) / w), count = windows.shape[0], c = windows.shape[2]
        guard count % per == 0 else {
            throw EngineError.shape("windowMerge: \(count) windows are not a whole number of \(h)x\(wd) maps of \(per) windows of \(w)x\(w)")
        }
        let b = count / per, shape = [b, h, wd, c]
        if let r = residual, r.shape != shape {
            throw EngineError.shape("windowMerge: residual \(r.shape) does not match the map \(shape)")
        }
        if let k = sampleScale, k.count != b {
            throw EngineError.shape("windowMerge: sampleScale has \(k.count) values for \(b) images")
        }
        let out = Tensor(uninitialized: shape)
        mergeRaw(windows.ptr, residual: residual, sampleScale: sampleScale, into: out.ptr, h: h, wd: wd, c: c, window: w,
                 shift: shift, windows: count)
        // The gradients are gathers of g: neither input's values are read.
        let windows = windows.gradientHandle, residual = residual?.gradientHandle
        var inputs = [windows]
        if let r = residual { inputs.append(r) }
        out.record(inputs) { g in
            if let r = residual, r.requiresGrad { r.addGrad(g) }
            guard windows.requiresGrad else { return }
            let gw = Tensor(uninitialized: windows.shape)
            partitionRaw(g.ptr, into: gw.ptr, h: h, wd: wd, c: c, window: w, shift: shift, windows: count, sampleScale: sampleScale)
            windows.addGrad(gw)
        }
        return out
    }

    /// adv_window_partition over all windows, split over the pool.
    static func partitionRaw(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, h: Int, wd: Int, c: Int,
                             window: Int, shift: Int, windows: Int, sampleScale: [Float]?) {
        withSampleScale(sampleScale) { pk in
            Parallel.forEach(windows, minChunk: Swift.max(1, 65536 / Swift.max(window * window * c, 1))) { r in
                adv_window_partition(src, pk, dst, h, wd, c, window, shift, r.lowerBound, r.upperBound)
            }
        }
    }

    /// adv_window_merge over all windows, split over the pool.
    static func mergeRaw(_ src: UnsafePointer<Float>, residual: Tensor?, sampleScale: [Float]?, into dst: UnsafeMutablePointer<Float>,
                         h: Int, wd: Int, c: Int, window: Int, shift: Int, windows: Int) {
        let pr = residual.map { UnsafePointer($0.ptr) }
        withSampleScale(sampleScale) { pk in
            Parallel.forEach(windows, minChunk: Swift.max(1, 65536 / Swift.max(window * window * c, 1))) { r in
                adv_window_merge(src, pr, pk, dst, h, wd, c, window, shift, r.lowerBound, r.upperBound)
            }
        }
    }
}
