// ConvNeXt's conv_mlp branch (timm's LayerNorm2d -> 1x1 conv -> GELU -> 1x1 conv, then the
// layer-scaled residual) kept in one layout from the norm to the residual: the packed layout
// P (C, N * H * W), row c holding channel c of every image side by side, which is the operand
// layout of the 1x1 convolutions' products (docs/architecture.md, "ConvNeXt's conv_mlp branch").
//
// On NCHW maps every op of the branch re-laid its data out: the norm with grad transposed to
// NHWC and back, and each 1x1 convolution on maps below 2048 pixels gathered its input into
// P and scattered its product back to NCHW (Conv.pack/unpack), forward and backward (about
// 20% of an AutoAttack run on the small ConvNeXt, BENCHMARKS.md). Here the norm reads NCHW and
// writes P, the products read and write P, GELU runs on P, and the residual reads P.
//
// The values are those of the NCHW ops bit for bit (ConvMlpTests): the norm runs the same row
// kernel on the same rows, the products are the same BLAS.gemm calls (the same images per
// call, Conv.imagesPerGemm, so the same shapes and splits) with other leading dimensions, the
// gradients' sums run in the same order, and the residual is the same expression per element.
// fp32 only (the caller keeps the NCHW ops for bf16/fp16).
//
// The same tiled norm also writes channels last, (N, H, W, C): the rows that Linear layers read,
// for ConvNeXt blocks without conv_mlp (convnext_tiny and up), where it replaces the permute to
// NHWC (a transposed copy forward and backward) and the norm on it, with the same values
// (docs/architecture.md, "ConvNeXt's conv_mlp branch"). The tiles move between the layouts
// through CKernels/pixeltile.c (16 x 16 transposes in registers with AVX-512).
import CKernels

/// Where `layerNorm2dTiled` writes channel ch of pixel p of image img.
enum NormLayout {
    /// (N, C, H, W), as the input.
    case nchw
    /// (C, N * H * W): the packed operand of the 1x1 convolutions.
    case packed
    /// (N, H, W, C): each pixel's channels in one row, as Linear layers read them.
    case channelsLast
}

extension Tensor {
    /// LayerNorm over the channels of x (N, C, H, W), written packed: (C, N * H * W).
    /// The same values as `layerNorm2d` (each pixel's C channels through the row kernel of
    /// `normRows`, in tiles of 16 pixels); keeps the rows' mean and rstd for backward.
    /// - Parameters:
    ///   - x: (N, C, H, W)
    ///   - weight, bias: (C) or nil
    ///   - eps: added to the variance.
    public static func layerNorm2dPacked(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        try layerNorm2dTiled(x, weight: weight, bias: bias, eps: eps, layout: .packed)
    }

    /// LayerNorm over the channels of x (N, C, H, W), written channels last: (N, H, W, C). The
    /// values (and gradients) of `layerNorm` on `x.permute([0, 2, 3, 1])`, bit for bit, without
    /// the transposed copies (the row kernel writes the output rows in place).
    /// - Parameters:
    ///   - x: (N, C, H, W)
    ///   - weight, bias: (C) or nil
    ///   - eps: added to the variance.
    public static func layerNorm2dChannelsLast(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        try layerNorm2dTiled(x, weight: weight, bias: bias, eps: eps, layout: .channelsLast)
    }

    /// Layer norm over the channels of x (N, C, H, W) in tiles of 16 pixels (each pixel's C
    /// channels gathered into a row for the row kernel of `normRows`), written in `layout`
    /// (NormLayout): the values of `layerNorm` on the NHWC permute, without the transposed
    /// copies (`layerNorm2d` uses it with `.nchw`).
    static func layerNorm2dTiled(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float, layout: NormLayout) throws -> Tensor {
        guard x.rank == 4, x.shape[1] > 0, x.count > 0 else {
            throw EngineError.shape("layerNorm2d: needs a non-empty (N, C, H, W), got \(x.shape)")
        }
        let n = x.shape[0], c = x.shape[1], hw = x.shape[2] * x.shape[3], cols = n * hw
        if let w = weight, w.shape != [c] { throw EngineError.shape("layerNorm2d: weight \(w.shape) does not fit input \(x.shape)") }
        if let b = bias, b.shape != [c] { throw EngineError.shape("layerNorm2d: bias \(b.shape) does not fit input \(x.shape)") }
        let out: Tensor
        switch layout {
        case .nchw: out = Tensor(uninitialized: x.shape)
        case .packed: out = Tensor(uninitialized: [c, cols])
        case .channelsLast: out = Tensor(uninitialized: [n, x.shape[2], x.shape[3], c])
        }
        // channel ch of image img at out + img * imageStride + ch * channelStride (not channelsLast)
        let packed = layout == .packed, channelsLast = layout == .channelsLast
        let imageStride = packed ? hw : c * hw, channelStride = packed ? cols : hw
        var inputs = [x]
        if let w = weight { inputs.append(w) }
        if let b = bias { inputs.append(b) }
        let mean = Tensor.needsGrad(inputs) ? Tensor(uninitialized: [cols]) : nil
        let rstd = Tensor(uninitialized: [cols])
        let px = x.ptr, po = out.ptr, pm = mean?.ptr, pr = rstd.ptr
        let pw = weight.map { UnsafePointer($0.ptr) }, pb = bias.map { UnsafePointer($0.ptr) }
        let tile = 16, tiles = (hw + tile - 1) / tile
        Parallel.forEach(n * tiles, minChunk: Swift.max(1, 16384 / (tile * c))) { r in
            let rows = UnsafeMutablePointer<Float>.allocate(capacity: 2 * tile * c)
            defer { rows.deallocate() }
            let normed = rows + tile * c
            for u in r {
                let img = u / tiles, p0 = (u % tiles) * tile, m = Swift.min(tile, hw - p0), row0 = img * hw + p0
                let src = px + img * c * hw + p0, dst = po + img * imageStride + p0
                adv_gather_pixels(src, hw, c, m, rows)  // CKernels/pixeltile.c
                // channels last: the normed rows are the output's rows
                adv_layernorm_forward(rows, channelsLast ? po + row0 * c : normed, pm.map { $0 + row0 }, pr + row0, pw, pb, 0, m, c, eps)
                if !channelsLast { adv_scatter_pixels(normed, c, m, dst, channelStride) }
            }
        }
        if let mean = mean {
            out.record(inputs) { g in
                Tensor.layerNorm2dTiledBackward(g, x, weight: weight, bias: bias, mean: mean, rstd: rstd, layout: layout)
            }
        }
        return out
    }

    /// The gradients of `layerNorm2dTiled`: `normRowsBackward`'s kernel on the same rows, in
    /// the same chunks of rows (so the weight and bias sums are added in the same order), with
    /// the rows gathered from g and the NCHW x in tiles of at most 16 pixels.
    /// - Parameters:
    ///   - g: the output gradient in `layout`: (N, C, H, W), (C, N * H * W) or (N, H, W, C)
    ///   - x: (N, C, H, W); weight, bias: (C) or nil; each receives its gradient
    ///   - mean, rstd: (N * H * W) from the forward pass
    static func layerNorm2dTiledBackward(_ g: Tensor, _ x: Tensor, weight: Tensor?, bias: Tensor?, mean: Tensor, rstd: Tensor,
                                         layout: NormLayout) {
        let n = x.shape[0], c = x.shape[1], hw = x.shape[2] * x.shape[3], rows = n * hw
        let packed = layout == .packed, channelsLast = layout == .channelsLast
        let imageStride = packed ? hw : c * hw, channelStride = packed ? rows : hw
        let pg = g.ptr, px = x.ptr, pm = mean.ptr, pr = rstd.ptr
        let pw = weight.map { UnsafePointer($0.ptr) }
        let needW = weight?.requiresGrad ?? false, needB = bias?.requiresGrad ?? false
        let gx = x.requiresGrad ? Tensor(uninitialized: x.shape) : nil
        let pgx = gx?.ptr
        let chunks = Parallel.parts(rows, quantum: Swift.max(1, 16384 / Swift.max(c, 1)), maxParts: 8)
        let per = (rows + chunks - 1) / chunks
        let partW = needW ? Tensor(zeros: [chunks, c]) : nil, partB = needB ? Tensor(zeros: [chunks, c]) : nil
        let ppw = partW?.ptr, ppb = partB?.ptr
        let tile = 16
        Parallel.forEach(chunks, minChunk: 1) { cr in
            let buf = UnsafeMutablePointer<Float>.allocate(capacity: 3 * tile * c + c)
            defer { buf.deallocate() }
            let gt = buf, xt = buf + tile * c, gxt = buf + 2 * tile * c, h = buf + 3 * tile * c
            for ch in cr {
                var r = ch * per
                let end = Swift.min(rows, r + per)
                while r < end {
                    // a tile of m rows (pixels) inside one image
                    let img = r / hw, p0 = r % hw, m = Swift.min(tile, hw - p0, end - r)
                    let xs = px + img * c * hw + p0, gs = pg + img * imageStride + p0
                    // channels last: g's rows r..<r + m are already the kernel's rows
                    if !channelsLast { adv_gather_pixels(gs, channelStride, c, m, gt) }
                    adv_gather_pixels(xs, hw, c, m, xt)
                    adv_layernorm_backward(channelsLast ? pg + r * c : gt, xt, pm + r, pr + r, pw, pgx == nil ? nil : gxt, ppw.map { $0 + ch * c },
                                           ppb.map { $0 + ch * c }, h, 0, m, c)
                    if let pgx = pgx {
                        let dst = pgx + img * c * hw + p0
                        adv_scatter_pixels(gxt, c, m, dst, hw)
                    }
                    r += m
                }
            }
        }
        addPartSums(partW, to: weight, chunks: chunks, d: c)
        addPartSums(partB, to: bias, chunks: chunks, d: c)
        if let gx = gx { x.addGrad(gx) }
    }

    /// A 1x1 convolution on packed maps: (Cout, Cin) x P (Cin, N * H * W) + bias -> (Cout, N * H * W),
    /// the products exactly as `conv2d`'s im2col path runs them for (N, Cin, H, W)
    /// (Conv.imagesPerGemm images per BLAS.gemm call, the bias filled in first).
    /// - Parameters:
    ///   - p: (Cin, N * H * W) packed input
    ///   - weight: (Cout, Cin, 1, 1)
    ///   - bias: (Cout) or nil
    ///   - images: N; height, width: H, W of each map
    public static func pointwisePacked(_ p: Tensor, weight: Tensor, bias: Tensor?, images n: Int, height: Int, width: Int) throws -> Tensor {
        let hw = height * width
        guard weight.rank == 4, weight.shape[2] == 1, weight.shape[3] == 1, p.rank == 2, n > 0, hw > 0,
              p.shape == [weight.shape[1], n * hw] else {
            throw EngineError.shape("pointwisePacked: needs weight (Cout, Cin, 1, 1) and input (Cin, \(n) * \(height) * \(width)), got \(weight.shape) and \(p.shape)")
        }
        let cin = weight.shape[1], cout = weight.shape[0], cols = n * hw
        if let b = bias, b.shape != [cout] { throw EngineError.shape("pointwisePacked: bias \(b.shape) does not fit weight \(weight.shape)") }
        let geo = ConvGeometry(n: n, cin: cin, h: height, w: width, cout: cout, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0,
                               groups: 1, ho: height, wo: width)
        let nb = Conv.imagesPerGemm(geo)
        let out = Tensor(uninitialized: [cout, cols])
        var img0 = 0
        while img0 < n {
            let cnt = Swift.min(nb, n - img0)
            let c = out.ptr + img0 * hw
            let pb = bias.map { UnsafePointer($0.ptr) }
            if let pb = pb { Conv.fillRows(c, pb, rows: cout, count: cnt * hw, ld: cols) }
            BLAS.gemm(transA: false, transB: false, m: cout, n: cnt * hw, k: cin, a: weight.ptr, lda: cin,
                      b: p.ptr + img0 * hw, ldb: cols, beta: pb == nil ? 0 : 1, c: c, ldc: cols)
            img0 += cnt
        }
        var inputs = [p, weight]
        if let b = bias { inputs.append(b) }
        out.record(inputs) { g in
            Tensor.pointwisePackedBackward(g, p, weight: weight, bias: bias, images: n, hw: hw, perGemm: nb)
        }
        return out
    }

    /// The gradients of `pointwisePacked`, as `conv2d`'s backward computes them: dW += G P^T per
    /// chunk of images in order, dP = W^T G onto zeros (beta 1, as the NCHW path adds its
    /// columns onto a zeroed gradient), the bias gradient as per-plane row sums in image order.
    static func pointwisePackedBackward(_ g: Tensor, _ p: Tensor, weight: Tensor, bias: Tensor?, images n: Int, hw: Int, perGemm nb: Int) {
        let cin = weight.shape[1], cout = weight.shape[0], cols = n * hw
        let gw = weight.requiresGrad ? Tensor(zeros: weight.shape) : nil
        let gp = p.requiresGrad ? Tensor(zeros: p.shape) : nil
        var img0 = 0
        while img0 < n {
            let cnt = Swift.min(nb, n - img0)
            let gc = UnsafePointer(g.ptr + img0 * hw)
            if let gw = gw {
                BLAS.gemm(transA: false, transB: true, m: cout, n: cin, k: cnt * hw, a: gc, lda: cols,
                          b: p.ptr + img0 * hw, ldb: cols, beta: 1, c: gw.ptr, ldc: cin)
            }
            if let gp = gp {
                BLAS.gemm(transA: true, transB: false, m: cin, n: cnt * hw, k: cout, a: weight.ptr, lda: cin,
                          b: gc, ldb: cols, beta: 1, c: gp.ptr + img0 * hw, ldc: cols)
            }
            img0 += cnt
        }
        if let gw = gw { weight.addGrad(gw) }
        if let gp = gp { p.addGrad(gp) }
        if let b = bias, b.requiresGrad {
            let gb = Tensor(zeros: [cout])
            let pg = g.ptr, pb = gb.ptr
            Parallel.forEach(cout, minChunk: Swift.max(1, 65536 / Swift.max(cols, 1))) { r in
                for c in r {
                    var s: Float = 0
                    for i in 0..<n { s += Tensor.rowSum(pg + c * cols + i * hw, hw) }
                    pb[c] = s
                }
            }
            b.addGrad(gb)
        }
    }

    /// x + scale[c] * sampleScale[n] * y with the branch y packed (C, N * H * W): `scaledResidual`
    /// reading (and its backward writing) y's planes where the packed layout keeps them.
    /// - Parameters:
    ///   - x: (N, C, H, W) the residual
    ///   - y: (C, N * H * W) the branch
    ///   - scale: (C) the layer scale
    ///   - sampleScale: N per-sample factors (drop path), or nil (1)
    public static func scaledResidual(_ x: Tensor, packed y: Tensor, scale: Tensor, sampleScale: [Float]? = nil) throws -> Tensor {
        guard x.rank == 4, y.shape == [x.shape[1], x.shape[0] * x.shape[2] * x.shape[3]], scale.shape == [x.shape[1]] else {
            throw EngineError.shape("scaledResidual: needs x (N, C, H, W), the branch (C, N * H * W) and scale (C), got \(x.shape), \(y.shape) and \(scale.shape)")
        }
        if let k = sampleScale, k.count != x.shape[0] {
            throw EngineError.shape("scaledResidual: sampleScale has \(k.count) values for \(x.shape[0]) samples")
        }
        let n = x.shape[0], c = x.shape[1], hw = x.shape[2] * x.shape[3], planes = n * c
        let out = Tensor(uninitialized: x.shape)
        let k = sampleScale ?? []
        k.withUnsafeBufferPointer { kb in
            let pk = sampleScale == nil ? nil : kb.baseAddress
            let px = x.ptr, py = y.ptr, ps = scale.ptr, po = out.ptr
            Parallel.forEach(planes, minChunk: Swift.max(1, 65536 / Swift.max(hw, 1))) { r in
                adv_scale_residual_packed_forward(px, py, ps, pk, po, n, c, hw, r.lowerBound, r.upperBound)
            }
        }
        let x = x.gradientHandle  // its gradient is g: the values are not read (as `scaledResidual`)
        out.record([x, y, scale]) { g in
            if x.requiresGrad { x.addGrad(g) }
            let gy = y.requiresGrad ? Tensor(uninitialized: y.shape) : nil
            var gs: [Float]? = scale.requiresGrad ? [Float](repeating: 0, count: planes) : nil
            func run(_ sums: UnsafeMutablePointer<Float>?) {
                k.withUnsafeBufferPointer { kb in
                    let pk = sampleScale == nil ? nil : kb.baseAddress
                    let pg = g.ptr, py = y.ptr, ps = scale.ptr, pgy = gy?.ptr
                    Parallel.forEach(planes, minChunk: Swift.max(1, 65536 / Swift.max(hw, 1))) { r in
                        adv_scale_residual_packed_backward(pg, py, ps, pk, pgy, sums, n, c, hw, r.lowerBound, r.upperBound)
                    }
                }
            }
            if gs == nil { run(nil) } else { gs!.withUnsafeMutableBufferPointer { run($0.baseAddress) } }
            if let gy = gy { y.addGrad(gy) }
            if let gs = gs {
                let t = Tensor(zeros: [c])
                for i in 0..<n { for ch in 0..<c { t.ptr[ch] += gs[i * c + ch] } }
                scale.addGrad(t)
            }
        }
        return out
    }
}
