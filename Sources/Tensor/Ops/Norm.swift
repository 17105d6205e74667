// Normalisation: layer norm (last dim, and over channels), group norm, batch norm (optionally
// synchronized over processes: `BatchNormSync`).
// layerNorm x: (..., D); layerNorm2d/groupNorm/batchNorm x: (N, C, H, W)
import CKernels

/// Synchronized BatchNorm (docs/distributed.md): while `sum` is set, training-mode batch norm
/// computes its statistics, and the input gradient its per-channel sums, over every process's
/// batch. `sum` replaces the doubles by their element-wise sum over the processes.
public enum BatchNormSync {
    public nonisolated(unsafe) static var sum: ((UnsafeMutablePointer<Double>, Int) -> Void)?

    /// Runs `body` with `sum` as the synchronization (nil: per-process statistics); restores the previous one.
    public static func with<T>(_ sum: ((UnsafeMutablePointer<Double>, Int) -> Void)?, _ body: () throws -> T) rethrows -> T {
        let saved = self.sum
        self.sum = sum
        defer { self.sum = saved }
        return try body()
    }
}

extension Tensor {
    /// Normalises each row of x viewed as (rows, d) to zero mean and unit variance (biased), then
    /// applies an optional per-column affine. Fused forward and backward.
    static func normRows(_ x: Tensor, rows: Int, d: Int, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        let out = Tensor(uninitialized: x.shape)
        var inputs = [x]
        if let w = weight { inputs.append(w) }
        if let b = bias { inputs.append(b) }
        // Backward needs the row means and rstd besides x (which the graph keeps anyway); it
        // recomputes the normalised values, as PyTorch's layer norm does (docs/architecture.md,
        // "Memory"), instead of keeping a second tensor of x's size.
        let mean = Tensor.needsGrad(inputs) ? Tensor(uninitialized: [rows]) : nil
        let rstd = Tensor(uninitialized: [rows])
        let px = x.ptr, po = out.ptr, pm = mean?.ptr, pr = rstd.ptr
        let pw = weight.map { UnsafePointer($0.ptr) }, pb = bias.map { UnsafePointer($0.ptr) }
        // CKernels/norm.c, rows split over threads.
        Parallel.forEach(rows, minChunk: Swift.max(1, 16384 / Swift.max(d, 1))) { r in
            adv_layernorm_forward(px, po, pm, pr, pw, pb, r.lowerBound, r.upperBound, d, eps)
        }
        if let mean = mean {
            out.record(inputs) { g in Tensor.normRowsBackward(g, x, weight: weight, bias: bias, mean: mean, rstd: rstd) }
        }
        return out
    }

    /// The gradients of `normRows` (CKernels/norm.c): with xhat = (x - mean) rstd the normalised
    /// rows (recomputed row by row), dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat))
    /// where dxhat = g w, per row; dw = sum over rows of g xhat, db = sum over rows of g.
    /// - Parameters:
    ///   - g: (rows, d) the output gradient (any shape of that size)
    ///   - x: the input (rows, d); weight, bias: (d) or nil; each receives its gradient
    ///   - mean: (rows) the row means the forward pass kept
    ///   - rstd: (rows) 1 / sqrt(var + eps) per row
    static func normRowsBackward(_ g: Tensor, _ x: Tensor, weight: Tensor?, bias: Tensor?, mean: Tensor, rstd: Tensor) {
        let rows = rstd.count, d = x.count / Swift.max(rows, 1)
        let pg = g.ptr, px = x.ptr, pm = mean.ptr, pr = rstd.ptr
        let needW = weight?.requiresGrad ?? false, needB = bias?.requiresGrad ?? false
        let gx = x.requiresGrad ? Tensor(uninitialized: x.shape) : nil
        let pgx = gx?.ptr
        // Each chunk of rows sums its own weight/bias gradients; the chunks are added after.
        // (Chunks from the size only, added in chunk order: the same sums with any thread count.)
        let chunks = Parallel.parts(rows, quantum: Swift.max(1, 16384 / Swift.max(d, 1)), maxParts: 8)
        let per = (rows + chunks - 1) / chunks
        let partW = needW ? Tensor(zeros: [chunks, d]) : nil, partB = needB ? Tensor(zeros: [chunks, d]) : nil
        let ppw = partW?.ptr, ppb = partB?.ptr
        Parallel.forEach(chunks, minChunk: 1) { cr in
            let h = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(d, 1))  // one row of xhat
            defer { h.deallocate() }
            for c in cr {
                let r0 = c * per, r1 = Swift.min(rows, r0 + per)
                if r0 >= r1 { continue }
                adv_layernorm_backward(pg, px, pm, pr, weight.map { UnsafePointer($0.ptr) }, pgx, ppw.map { $0 + c * d },
                                       ppb.map { $0 + c * d }, h, r0, r1, d)
            }
        }
        addPartSums(partW, to: weight, chunks: chunks, d: d)
        addPartSums(partB, to: bias, chunks: chunks, d: d)
        if let gx = gx { x.addGrad(gx) }
    }

    /// Adds the per-chunk partial gradients `part` (chunks, d), summed in chunk order, to `t`'s
    /// gradient (nothing when either is nil).
    static func addPartSums(_ part: Tensor?, to t: Tensor?, chunks: Int, d: Int) {
        guard let t = t, let part = part else { return }
        let sum = Tensor(zeros: [d])
        for c in 0..<chunks { for j in 0..<d { sum.ptr[j] += part.ptr[c * d + j] } }
        t.addGrad(sum)
    }

    /// Layer norm over the last dimension (biased variance, as PyTorch).
    /// - Parameters:
    ///   - x: (..., D)
    ///   - weight: (D) or nil
    ///   - bias: (D) or nil
    ///   - eps: added to the variance.
    public static func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) throws -> Tensor {
        guard x.rank >= 1, let d = x.shape.last, d > 0 else {
            throw EngineError.shape("layerNorm: needs (..., D) with D > 0, got \(x.shape)")
        }
        if let w = weight, w.shape != [d] { throw EngineError.shape("layerNorm: weight \(w.shape) does not fit input \(x.shape)") }
        if let b = bias, b.shape != [d] { throw EngineError.shape("layerNorm: bias \(b.shape) does not fit input \(x.shape)") }
        return normRows(x, rows: x.count / d, d: d, weight: weight, bias: bias, eps: eps)
    }

    /// Layer norm over the channels of (N, C, H, W) at each pixel (ConvNeXt "channels_first").
    /// - Parameters:
    ///   - x: (N, C, H, W)
    ///   - weight: (C) or nil
    ///   - bias: (C) or nil
    ///   - eps: added to the variance.
    public static func layerNorm2d(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float = 1e-6) throws -> Tensor {
        guard x.rank == 4 else { throw EngineError.shape("layerNorm2d: needs (N, C, H, W), got \(x.shape)") }
        let c = x.shape[1]
        if let w = weight, w.shape != [c] { throw EngineError.shape("layerNorm2d: weight \(w.shape) does not fit input \(x.shape)") }
        if let b = bias, b.shape != [c] { throw EngineError.shape("layerNorm2d: bias \(b.shape) does not fit input \(x.shape)") }
        // In tiles of 16 pixels, no NHWC copies (ConvMlp.swift); without a graph it records
        // nothing and keeps no statistics. Empty maps take the permute chain.
        if c > 0, x.count > 0 { return try layerNorm2dTiled(x, weight: weight, bias: bias, eps: eps, layout: .nchw) }
        let t = try x.permute([0, 2, 3, 1])
        return try layerNorm(t, weight: weight, bias: bias, eps: eps).permute([0, 3, 1, 2])
    }

    /// Group norm: statistics over each group of C/groups channels and all pixels, per sample.
    /// - Parameters:
    ///   - x: (N, C, H, W)
    ///   - groups: must divide C.
    ///   - weight: (C) or nil
    ///   - bias: (C) or nil
    ///   - eps: added to the variance.
    public static func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) throws -> Tensor {
        guard x.rank >= 2, groups >= 1, x.shape[1] % groups == 0 else {
            throw EngineError.shape("groupNorm: \(groups) groups do not divide the channels of \(x.shape)")
        }
        let c = x.shape[1]
        if let w = weight, w.shape != [c] { throw EngineError.shape("groupNorm: weight \(w.shape) does not fit input \(x.shape)") }
        if let b = bias, b.shape != [c] { throw EngineError.shape("groupNorm: bias \(b.shape) does not fit input \(x.shape)") }
        let rows = x.shape[0] * groups
        guard rows > 0, x.count > 0 else { return x.copy() }
        return groupNormFused(x, groups: groups, weight: weight, bias: bias, eps: eps)  // GroupNorm.swift
    }

    /// Batch norm over (N, H, W) per channel.
    /// Training: normalises with the batch statistics and updates the running statistics in
    /// place (running = (1 - momentum) running + momentum batch; the running variance uses the
    /// unbiased estimate). Evaluation: normalises with the running statistics.
    /// - Parameters:
    ///   - x: (N, C, H, W) or (N, C)
    ///   - weight: (C) or nil
    ///   - bias: (C) or nil
    ///   - runningMean: (C), updated in training; required in evaluation.
    ///   - runningVar: (C), updated in training; required in evaluation.
    ///   - training: batch statistics (true) or running statistics (false).
    ///   - momentum: update rate of the running statistics.
    ///   - eps: added to the variance.
    ///   - residual: added to the normalised values before `act` (x's shape), or nil.
    ///   - act: applied last, in the same pass (BatchNormAct.swift), or nil.
    public static func batchNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor?, runningVar: Tensor?,
                                 training: Bool, momentum: Float = 0.1, eps: Float = 1e-5,
                                 residual: Tensor? = nil, act: NormActivation? = nil) throws -> Tensor {
        guard x.rank >= 2 else { throw EngineError.shape("batchNorm: needs (N, C, ...), got \(x.shape)") }
        if let r = residual, r.shape != x.shape {
            throw EngineError.shape("batchNorm: residual \(r.shape) does not fit input \(x.shape)")
        }
        let c = x.shape[1]
        for (name, t) in [("weight", weight), ("bias", bias), ("runningMean", runningMean), ("runningVar", runningVar)] {
            if let t = t, t.shape != [c] { throw EngineError.shape("batchNorm: \(name) \(t.shape) does not fit input \(x.shape)") }
        }
        let n = x.shape[0]
        let hw = x.count / Swift.max(n * c, 1)
        let m = n * hw
        var mean = [Float](repeating: 0, count: c), rstd = [Float](repeating: 0, count: c)
        let px = x.ptr
        let sync = training ? BatchNormSync.sum : nil
        var count = m  // values per channel the statistics cover (all processes' under sync)
        if let sync = sync {
            count = syncedStatistics(x, sync: sync, mean: &mean, rstd: &rstd, runningMean: runningMean,
                                     runningVar: runningVar, momentum: momentum, eps: eps)
        } else if training {
            guard m > 1 else {
                throw EngineError.shape("batchNorm: training needs more than one value per channel, got input \(x.shape)")
            }
            // Per-channel statistics in double (two passes), channels in parallel.
            mean.withUnsafeMutableBufferPointer { mb in
                rstd.withUnsafeMutableBufferPointer { rb in
                    guard let pm = mb.baseAddress, let pr = rb.baseAddress else { return }
                    Parallel.forEach(c, minChunk: Swift.max(1, 32768 / Swift.max(m, 1))) { r in
                        // mean and biased variance of these channels (CKernels/norm.c)
                        var vars = [Float](repeating: 0, count: r.count)
                        vars.withUnsafeMutableBufferPointer { vb in
                            guard let pv = vb.baseAddress else { return }
                            adv_bn_stats(px, n, c, hw, r.lowerBound, r.upperBound, pm, pv - r.lowerBound)
                        }
                        for ch in r {
                            let mu = pm[ch]
                            let variance = vars[ch - r.lowerBound]
                            pr[ch] = 1 / (variance + eps).squareRoot()
                            // Running estimate uses the unbiased variance (PyTorch).
                            if let rm = runningMean, let rv = runningVar {
                                rm.ptr[ch] = (1 - momentum) * rm.ptr[ch] + momentum * mu
                                rv.ptr[ch] = (1 - momentum) * rv.ptr[ch] + momentum * variance * Float(m) / Float(m - 1)
                            }
                        }
                    }
                }
            }
        } else {
            guard let rm = runningMean, let rv = runningVar else {
                throw EngineError.invalidArgument("batchNorm: evaluation mode needs running statistics")
            }
            for ch in 0..<c {
                mean[ch] = rm.ptr[ch]
                rstd[ch] = 1 / (rv.ptr[ch] + eps).squareRoot()
            }
        }
        // y = x * scale + shift with scale = w * rstd, shift = b - mean * scale.
        let out = Tensor(uninitialized: x.shape)
        let po = out.ptr
        let pw = weight?.ptr, pb = bias?.ptr
        let meanC = mean, rstdC = rstd
        var scale = [Float](repeating: 0, count: c), shift = [Float](repeating: 0, count: c)
        for ch in 0..<c {
            scale[ch] = rstdC[ch] * (pw?[ch] ?? 1)
            shift[ch] = (pb?[ch] ?? 0) - meanC[ch] * scale[ch]
        }
        if residual != nil || act != nil {
            applyBatchNormAct(x, residual: residual, act: act, out: out, scale: scale, shift: shift)
        } else {
            scale.withUnsafeBufferPointer { sb in
                shift.withUnsafeBufferPointer { tb in
                    guard let ps = sb.baseAddress, let pt = tb.baseAddress else { return }
                    Parallel.forEach(n * c, minChunk: Swift.max(1, 65536 / Swift.max(hw, 1))) { r in
                        adv_bn_apply(px, po, c, hw, r.lowerBound, r.upperBound, ps, pt)
                    }
                }
            }
        }
        var inputs = [x]
        if let w = weight { inputs.append(w) }
        if let b = bias { inputs.append(b) }
        if let r = residual { inputs.append(r) }
        let total = count
        out.record(inputs) { [scale, shift] g in
            if residual != nil || act != nil {
                // The fused activation's and add's backward, then batch norm's (BatchNormAct.swift).
                Tensor.batchNormActBackward(g, x, weight: weight, bias: bias, residual: residual, act: act, scale: scale,
                                            shift: shift, mean: meanC, rstd: rstdC, training: training, count: total, sync: sync)
                return
            }
            Tensor.batchNormBackward(g, x, weight: weight, bias: bias, mean: meanC, rstd: rstdC, training: training,
                                     count: total, sync: sync)
        }
        return out
    }

    /// Batch statistics over every process's batch (synchronized BatchNorm, docs/distributed.md):
    /// the channel sums and the value count are summed with `sync`, then the sums of squared
    /// deviations from the common mean, so every process normalises with the statistics one
    /// process would compute on the whole batch. Returns the total count per channel.
    // x: (N, C, ...) -> mean, rstd: (C)
    static func syncedStatistics(_ x: Tensor, sync: (UnsafeMutablePointer<Double>, Int) -> Void,
                                 mean: inout [Float], rstd: inout [Float], runningMean: Tensor?, runningVar: Tensor?,
                                 momentum: Float, eps: Float) -> Int {
        let n = x.shape[0], c = x.shape[1]
        let hw = x.count / Swift.max(n * c, 1)
        let px = x.ptr
        var sums = [Double](repeating: 0, count: c + 1)
        for i in 0..<n { for ch in 0..<c { let p = px + (i * c + ch) * hw; for k in 0..<hw { sums[ch] += Double(p[k]) } } }
        sums[c] = Double(n * hw)
        sums.withUnsafeMutableBufferPointer { sync($0.baseAddress!, c + 1) }
        let total = Int(sums[c])
        let mu = (0..<c).map { sums[$0] / Swift.max(sums[c], 1) }
        var squares = [Double](repeating: 0, count: c)
        for i in 0..<n {
            for ch in 0..<c {
                let p = px + (i * c + ch) * hw
                for k in 0..<hw { let d = Double(p[k]) - mu[ch]; squares[ch] += d * d }
            }
        }
        squares.withUnsafeMutableBufferPointer { sync($0.baseAddress!, c) }
        for ch in 0..<c {
            let variance = Float(squares[ch] / Swift.max(sums[c], 1))
            mean[ch] = Float(mu[ch])
            rstd[ch] = 1 / (variance + eps).squareRoot()
            if let rm = runningMean, let rv = runningVar, total > 1 {
                rm.ptr[ch] = (1 - momentum) * rm.ptr[ch] + momentum * mean[ch]
                rv.ptr[ch] = (1 - momentum) * rv.ptr[ch] + momentum * variance * Float(total) / Float(total - 1)
            }
        }
        return total
    }

    /// The gradients of `batchNorm`, per channel c with xhat = (x - mean) rstd over its N x H x W
    /// values: dweight = sum(g xhat), dbias = sum(g); dx = weight rstd (g - mean(g) - xhat mean(g xhat))
    /// in training (the statistics depend on x), weight rstd g in evaluation (CKernels/norm.c).
    /// - Parameters:
    ///   - g: (N, C, ...) the output gradient
    ///   - x: (N, C, ...); weight, bias: (C) or nil; each receives its gradient
    ///   - mean, rstd: (C) the statistics the forward pass normalised with
    ///   - training: whether those were the batch's statistics
    ///   - count: values per channel the statistics covered (every process's under `sync`)
    ///   - sync: sums the per-channel sums over the processes (synchronized BatchNorm), or nil
    static func batchNormBackward(_ g: Tensor, _ x: Tensor, weight: Tensor?, bias: Tensor?, mean meanC: [Float], rstd rstdC: [Float],
                                  training: Bool, count: Int, sync: ((UnsafeMutablePointer<Double>, Int) -> Void)?) {
        let n = x.shape[0], c = x.shape[1]
        let hw = x.count / Swift.max(n * c, 1)
        let m = count
        let pw = weight?.ptr
        let pg = g.ptr, px = x.ptr
        // Per channel: sum(dy), sum(dy * xhat). Evaluation's input gradient does not read them, so
        // without weight or bias gradients (an attack's backward) they are not computed.
        var sumG = [Float](repeating: 0, count: c), sumGX = [Float](repeating: 0, count: c)
        let needSums = training || (weight?.requiresGrad ?? false) || (bias?.requiresGrad ?? false)
        if needSums { sumG.withUnsafeMutableBufferPointer { gb in
            sumGX.withUnsafeMutableBufferPointer { xb in
                guard let psg = gb.baseAddress, let psx = xb.baseAddress else { return }
                meanC.withUnsafeBufferPointer { mb in
                    guard let pmean = mb.baseAddress else { return }
                    Parallel.forEach(c, minChunk: Swift.max(1, 32768 / Swift.max(m, 1))) { r in
                        adv_bn_grad_sums(pg, px, pmean, n, c, hw, r.lowerBound, r.upperBound, psg, psx)
                        for ch in r { psx[ch] *= rstdC[ch] } // sum(dy * xhat)
                    }
                }
            }
        } }
        func vector(_ v: [Float]) -> Tensor {
            let t = Tensor(zeros: [c])
            for i in 0..<c { t.ptr[i] = v[i] }
            return t
        }
        if let w = weight, w.requiresGrad { w.addGrad(vector(sumGX)) }
        if let b = bias, b.requiresGrad { b.addGrad(vector(sumG)) }
        if x.requiresGrad {
            let gx = Tensor(uninitialized: x.shape)
            let pgx = gx.ptr
            var sg = sumG, sgx = sumGX
            if let sync = sync {
                // The input gradient uses the sums over every process's batch (the weight and bias
                // gradients stay this process's: the gradient average sums them).
                var both = (sg + sgx).map(Double.init)
                both.withUnsafeMutableBufferPointer { sync($0.baseAddress!, 2 * c) }
                sg = both[0..<c].map { Float($0) }
                sgx = both[c...].map { Float($0) }
            }
            // dx = a g + b x + d per channel: training, w rstd (dy - mean(dy) - xhat mean(dy xhat));
            // evaluation, w rstd dy.
            var ka = [Float](repeating: 0, count: c), kb = ka, kd = ka
            for ch in 0..<c {
                let k1 = (pw?[ch] ?? 1) * rstdC[ch]
                ka[ch] = k1
                if training {
                    let mg = sg[ch] / Float(m), mgx = sgx[ch] / Float(m) * rstdC[ch]
                    kb[ch] = -k1 * mgx
                    kd[ch] = k1 * (mgx * meanC[ch] - mg)
                }
            }
            ka.withUnsafeBufferPointer { ab in
                kb.withUnsafeBufferPointer { bb in
                    kd.withUnsafeBufferPointer { db in
                        guard let pa = ab.baseAddress, let pbb = bb.baseAddress, let pd = db.baseAddress else { return }
                        Parallel.forEach(n * c, minChunk: Swift.max(1, 65536 / Swift.max(hw, 1))) { r in
                            adv_bn_input_grad(pg, px, pgx, c, hw, r.lowerBound, r.upperBound, pa, pbb, pd)
                        }
                    }
                }
            }
            x.addGrad(gx)
        }
    }
}
