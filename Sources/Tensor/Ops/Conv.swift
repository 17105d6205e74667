// 2-D convolution: im2col + sgemm for the general case, a direct fast path for depthwise, and
// only the in-image taps on small maps (Conv+SmallMap.swift).
// x: (N, Cin, H, W), weight: (Cout, Cin/groups, kh, kw), bias: (Cout) -> (N, Cout, Ho, Wo)
import CKernels
import Foundation

/// The geometry of one convolution, shared by forward and backward.
struct ConvGeometry {
    let n, cin, h, w, cout, kh, kw, sh, sw, ph, pw, groups, ho, wo: Int
    /// The products are at precision bf16 (passed to BLAS.gemm's `bf16`).
    var bf16 = false
    var cg: Int { cin / groups }
    var og: Int { cout / groups }
    var kdim: Int { cg * kh * kw }
    var hw: Int { ho * wo }
    var isPointwise: Bool { kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 }
}

extension Tensor {
    /// 2-D convolution (cross-correlation, as PyTorch) with stride, zero padding and groups.
    /// - Parameters:
    ///   - x: (N, Cin, H, W)
    ///   - weight: (Cout, Cin/groups, kh, kw)
    ///   - bias: (Cout) or nil
    ///   - stride: (sh, sw)
    ///   - padding: (ph, pw) zeros on each side
    ///   - groups: Cin and Cout must both divide by it; groups == Cin == Cout is depthwise.
    ///   - precision: rounding of x and weight (default `Precision.current`).
    public static func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int) = (1, 1),
                              padding: (Int, Int) = (0, 0), groups: Int = 1,
                              precision: Precision = .current) throws -> Tensor {
        guard x.rank == 4, weight.rank == 4 else {
            throw EngineError.shape("conv2d: needs x (N, C, H, W) and weight (Cout, Cin/groups, kh, kw), got \(x.shape) and \(weight.shape)")
        }
        guard groups >= 1, stride.0 >= 1, stride.1 >= 1, padding.0 >= 0, padding.1 >= 0 else {
            throw EngineError.invalidArgument("conv2d: groups \(groups), stride \(stride) must be >= 1 and padding \(padding) >= 0")
        }
        let cin = x.shape[1], cout = weight.shape[0]
        guard cin % groups == 0, cout % groups == 0, weight.shape[1] == cin / groups else {
            throw EngineError.shape("conv2d: input \(x.shape) does not fit weight \(weight.shape) with groups \(groups)")
        }
        if let b = bias, b.shape != [cout] {
            throw EngineError.shape("conv2d: bias \(b.shape) does not fit weight \(weight.shape)")
        }
        let kh = weight.shape[2], kw = weight.shape[3]
        let ho = (x.shape[2] + 2 * padding.0 - kh) / stride.0 + 1
        let wo = (x.shape[3] + 2 * padding.1 - kw) / stride.1 + 1
        guard x.shape[2] + 2 * padding.0 >= kh, x.shape[3] + 2 * padding.1 >= kw, ho > 0, wo > 0 else {
            throw EngineError.shape("conv2d: kernel \(kh)x\(kw) larger than padded input \(x.shape) (padding \(padding))")
        }
        let geo = ConvGeometry(n: x.shape[0], cin: cin, h: x.shape[2], w: x.shape[3], cout: cout, kh: kh, kw: kw,
                               sh: stride.0, sw: stride.1, ph: padding.0, pw: padding.1, groups: groups, ho: ho, wo: wo,
                               bf16: precision == .bf16)
        let depthwise = groups == cin && groups == cout
        // Depthwise multiplies in fp32 on rounded values; the other paths only feed BLAS.gemm.
        let rounding = depthwise ? precision : BLAS.productRounding(precision)
        let rx = rounding.rounded(x), rw = rounding.rounded(weight)
        let out: Tensor
        let kept: [Tensor]  // im2col matrices of the forward pass, reused by the weight gradient
        // Small maps with many taps in the padding: only the in-image taps (Conv+SmallMap.swift).
        let plan = depthwise || !Backend.current.smallMap ? nil : SmallMapPlan.make(geo)
        let tapMajor = plan.map { _ in Conv.tapMajor(rw, geo) }
        if depthwise {
            out = Conv.depthwiseForward(rx, rw, bias, geo)
            kept = []
        } else if let plan = plan, let wt = tapMajor {
            out = Conv.smallMapForward(rx, wt, bias, geo, plan)
            kept = []
        } else {
            (out, kept) = Conv.gemmForward(rx, rw, bias, geo, keep: Conv.keepsColumns(geo, weight: weight))
        }
        var inputs = [x, weight]
        if let b = bias { inputs.append(b) }
        out.record(inputs) { g in
            Tensor.conv2dBackward(g, x: x, weight: weight, bias: bias, rx: rx, rw: rw, geo, rounding: rounding, plan: plan,
                                  tapMajor: tapMajor, kept: kept)
        }
        return out
    }

    /// The gradients of `conv2d`, on the path the forward pass took: depthwise
    /// (`Conv.depthwiseBackward`), small map (`Conv.smallMapBackward`, Conv+SmallMap.swift) or
    /// im2col + sgemm (`Conv.gemmBackward`: dW = G col^T, dcol = W^T G then col2im); the bias
    /// gradient is G summed over the batch and the pixels of each output channel.
    /// - Parameters:
    ///   - g: (N, Cout, Ho, Wo) the output gradient
    ///   - x: (N, Cin, H, W), weight: (Cout, Cin/groups, kh, kw), bias: (Cout) or nil: the inputs,
    ///     which receive the gradients
    ///   - rx, rw: x and weight rounded as the forward pass read them
    ///   - rounding: the rounding of the products' inputs (applied to g too)
    ///   - plan, tapMajor: the small-map plan and tap-major weight when the forward pass used them
    ///   - kept: the forward pass's im2col matrices (`Conv.gemmForward`), or empty
    static func conv2dBackward(_ g: Tensor, x: Tensor, weight: Tensor, bias: Tensor?, rx: Tensor, rw: Tensor, _ geo: ConvGeometry,
                               rounding: Precision, plan: SmallMapPlan?, tapMajor: Tensor?, kept: [Tensor]) {
        let rg = rounding.rounded(g)
        if geo.groups == geo.cin && geo.groups == geo.cout {
            Conv.depthwiseBackward(rg, rx, rw, x, weight, geo)
        } else if let plan = plan, let wt = tapMajor {
            Conv.smallMapBackward(rg, rx, wt, x, weight, geo, plan)
        } else {
            Conv.gemmBackward(rg, rx, rw, x, weight, geo, kept: kept)
        }
        if let b = bias, b.requiresGrad {
            // db (Cout) = sum over n, ho, wo of g
            let cout = geo.cout
            let gb = Tensor(zeros: [cout])
            let pg = g.ptr, pb = gb.ptr
            let hw = geo.hw, n = geo.n
            // Channels in parallel; each sums its planes over the batch.
            Parallel.forEach(cout, minChunk: Swift.max(1, 65536 / Swift.max(n * hw, 1))) { r in
                for c in r {
                    var s: Float = 0
                    for i in 0..<n { s += Tensor.rowSum(pg + (i * cout + c) * hw, hw) }
                    pb[c] = s
                }
            }
            b.addGrad(gb)
        }
    }
}

/// Convolution kernels (no graph).
enum Conv {
    /// col (kdim, cnt * Ho*Wo) for images [img0, img0 + cnt), group `gi`: image j's columns start
    /// at j * Ho*Wo, rows are ld apart (CKernels/im2col.c does the copying).
    static func im2col(_ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, _ g: ConvGeometry, img0: Int, count cnt: Int,
                       group gi: Int, ld: Int) {
        let kdim = g.kdim, hw = g.hw
        if g.isPointwise {
            // A 1x1 convolution's im2col is a batch gather of the group's channel planes.
            pack(x + (img0 * g.cin + gi * g.cg) * hw, col, count: cnt, rows: g.cg, hw: hw, imageStride: g.cin * hw, ld: ld)
            return
        }
        Parallel.forEach(cnt * kdim, minChunk: Swift.max(1, 16384 / Swift.max(hw, 1))) { r in
            var item = r.lowerBound
            while item < r.upperBound {
                let j = item / kdim, row = item % kdim
                let end = Swift.min(r.upperBound - item, kdim - row) + row
                let base = x + ((img0 + j) * g.cin + gi * g.cg) * g.h * g.w
                adv_im2col(base, col + j * hw, ld, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.ho, g.wo, row, end)
                item += end - row
            }
        }
    }

    /// Adds col (kdim, cnt * Ho*Wo), laid out as `im2col` writes it, back into dx.
    static func col2im(_ col: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ g: ConvGeometry, img0: Int, count cnt: Int,
                       group gi: Int, ld: Int) {
        let cg = g.cg, hw = g.hw
        if g.isPointwise {
            unpack(col, dx + (img0 * g.cin + gi * g.cg) * hw, count: cnt, rows: cg, hw: hw, imageStride: g.cin * hw, ld: ld, accumulate: true)
            return
        }
        // Parallel over (image, input channel) planes: each touches only its own plane.
        Parallel.forEach(cnt * cg, minChunk: Swift.max(1, 16384 / Swift.max(hw * g.kh * g.kw, 1))) { r in
            var item = r.lowerBound
            while item < r.upperBound {
                let j = item / cg, c = item % cg
                let end = Swift.min(r.upperBound - item, cg - c) + c
                let base = dx + ((img0 + j) * g.cin + gi * g.cg) * g.h * g.w
                adv_col2im(col + j * hw, base, ld, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.ho, g.wo, c, end)
                item += end - c
            }
        }
    }

    /// dst (rows, ld): row r holds row r of each of `cnt` images (hw floats each, images
    /// imageStride apart in src) side by side.
    static func pack(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count cnt: Int, rows: Int, hw: Int,
                     imageStride: Int, ld: Int) {
        Parallel.forEach(rows, minChunk: Swift.max(1, 32768 / Swift.max(cnt * hw, 1))) { r in
            adv_pack_images(src, dst, cnt, hw, imageStride, ld, r.lowerBound, r.upperBound)
        }
    }

    /// The inverse of `pack` (or its adjoint with `accumulate`).
    static func unpack(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count cnt: Int, rows: Int, hw: Int,
                       imageStride: Int, ld: Int, accumulate: Bool) {
        Parallel.forEach(rows, minChunk: Swift.max(1, 32768 / Swift.max(cnt * hw, 1))) { r in
            adv_unpack_images(src, dst, cnt, hw, imageStride, ld, r.lowerBound, r.upperBound, accumulate ? 1 : 0)
        }
    }

    /// Images per GEMM: small feature maps are batched so the product has >= ~2048 columns
    /// (one im2col matrix (kdim, nb * Ho * Wo), at most ~32 MB).
    /// (512 to 4096 measured the same on the five models at 32x32.)
    static let gemmColumns = 2048
    static func imagesPerGemm(_ g: ConvGeometry) -> Int {
        if g.hw >= gemmColumns { return 1 }
        let want = (gemmColumns + g.hw - 1) / g.hw
        let cap = Swift.max(1, (8 << 20) / Swift.max(g.kdim * g.hw, 1))
        return Swift.max(1, Swift.min(g.n, want, cap))
    }

    /// Largest im2col matrix (floats, all chunks) that the forward pass keeps for the weight
    /// gradient instead of rebuilding it in backward (32 MB; at 32x32 every conv of the five
    /// models fits, at 224 only the small late-stage ones do, so the graph's memory stays bounded).
    static let keptColumnsLimit = 8 << 20

    /// True when a forward pass should keep its im2col matrices for backward: the weight needs
    /// a gradient, there is an im2col at all, and it is small enough.
    static func keepsColumns(_ g: ConvGeometry, weight: Tensor) -> Bool {
        guard Tensor.needsGrad([weight]), !(g.isPointwise && imagesPerGemm(g) == 1) else { return false }
        let (total, overflow) = g.kdim.multipliedReportingOverflow(by: g.groups * g.n * g.hw)
        return !overflow && total <= keptColumnsLimit
    }

    /// - Returns: the output and, when `keep`, the im2col matrix of every (chunk, group) in order.
    static func gemmForward(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ g: ConvGeometry, keep: Bool = false) -> (Tensor, [Tensor]) {
        // Every value is written by the GEMM (beta 0, or beta 1 onto the bias filled in first) or
        // the copy from the batched product.
        let out = Tensor(uninitialized: [g.n, g.cout, g.ho, g.wo])
        let hw = g.hw
        let nb = imagesPerGemm(g)
        let cols = nb * hw
        // 1x1 over several images in bf16: the product writes the output, and reads x unless the
        // columns are kept anyway, in (N, C, H, W) (Conv+Images.swift).
        let direct = nb > 1 && g.isPointwise && g.bf16 && directImages(g, nb: nb, m: g.og, k: g.kdim)
        var col = (g.isPointwise && (nb == 1 || (direct && !keep))) ? nil : Tensor(uninitialized: [g.kdim, cols])
        let tmp = nb > 1 && !direct ? Tensor(uninitialized: [g.og, cols]) : nil
        var kept: [Tensor] = []
        var img0 = 0
        while img0 < g.n {
            let cnt = Swift.min(nb, g.n - img0)
            for gi in 0..<g.groups {
                let b: UnsafePointer<Float>
                if keep, col != nil { col = Tensor(uninitialized: [g.kdim, cols]) }
                if let c = col {
                    if keep { kept.append(c) }
                    im2col(x.ptr, c.ptr, g, img0: img0, count: cnt, group: gi, ld: cols)
                    b = UnsafePointer(c.ptr)
                } else {
                    b = UnsafePointer(x.ptr + (img0 * g.cin + gi * g.cg) * g.h * g.w)
                }
                // With a bias, C starts as the bias and the product is accumulated onto it (beta 1):
                // one write pass instead of OpenBLAS zeroing C for beta 0 and a separate
                // read-modify-write pass adding the bias.
                let pb = bias.map { UnsafePointer($0.ptr + gi * g.og) }
                if direct {
                    let c = out.ptr + (img0 * g.cout + gi * g.og) * hw
                    if let pb = pb {
                        for j in 0..<cnt { fillRows(c + j * g.cout * hw, pb, rows: g.og, count: hw, ld: hw) }
                    }
                    let bm = col == nil ? ImageColumns(base: UnsafeMutablePointer(mutating: b), ld: hw, hw: hw, image: g.cin * hw)
                        : ImageColumns.plain(UnsafeMutablePointer(mutating: b), ld: cols)
                    BLAS.gemmImages(transA: false, m: g.og, n: cnt * hw, k: g.kdim, a: w.ptr + gi * g.og * g.kdim, lda: g.kdim,
                                    b: bm, beta: pb == nil ? 0 : 1, c: ImageColumns(base: c, ld: hw, hw: hw, image: g.cout * hw))
                } else if let t = tmp {
                    if let pb = pb { fillRows(t.ptr, pb, rows: g.og, count: cnt * hw, ld: cols) }
                    BLAS.gemm(transA: false, transB: false, m: g.og, n: cnt * hw, k: g.kdim, a: w.ptr + gi * g.og * g.kdim, lda: g.kdim,
                              b: b, ldb: cols, beta: pb == nil ? 0 : 1, c: t.ptr, ldc: cols, bf16: g.bf16)
                    unpack(t.ptr, out.ptr + (img0 * g.cout + gi * g.og) * hw, count: cnt, rows: g.og, hw: hw,
                           imageStride: g.cout * hw, ld: cols, accumulate: false)
                } else {
                    let c = out.ptr + (img0 * g.cout + gi * g.og) * hw
                    if let pb = pb { fillRows(c, pb, rows: g.og, count: hw, ld: hw) }
                    BLAS.gemm(transA: false, transB: false, m: g.og, n: hw, k: g.kdim, a: w.ptr + gi * g.og * g.kdim, lda: g.kdim,
                              b: b, ldb: hw, beta: pb == nil ? 0 : 1, c: c, ldc: hw, bf16: g.bf16)
                }
            }
            img0 += cnt
        }
        return (out, kept)
    }

    /// Row r of dst (rows `ld` apart) becomes `count` copies of v[r], in parallel over rows.
    static func fillRows(_ dst: UnsafeMutablePointer<Float>, _ v: UnsafePointer<Float>, rows: Int, count: Int, ld: Int) {
        Parallel.forEach(rows, minChunk: Swift.max(1, 65536 / Swift.max(count, 1))) { r in
            for row in r { (dst + row * ld).update(repeating: v[row], count: count) }
        }
    }

    static func addBias(_ out: Tensor, _ bias: Tensor, _ g: ConvGeometry) {
        let po = out.ptr, pb = bias.ptr, hw = g.hw
        Parallel.forEach(g.n * g.cout, minChunk: Swift.max(1, 65536 / Swift.max(hw, 1))) { r in
            for p in r {
                let v = pb[p % g.cout]
                let d = po + p * hw
                for j in 0..<hw { d[j] += v }
            }
        }
    }

    /// Whether every chunk of `nb` images (and the last, smaller one) takes `BLAS.gemmImages`.
    static func directImages(_ g: ConvGeometry, nb: Int, m: Int, k: Int) -> Bool {
        let last = g.n % nb == 0 ? nb : g.n % nb
        return BLAS.imagesDirect(m: m, n: Swift.min(nb, g.n) * g.hw, k: k, hw: g.hw)
            && BLAS.imagesDirect(m: m, n: last * g.hw, k: k, hw: g.hw)
    }

    /// - Parameter kept: the forward pass's im2col matrices (see `gemmForward`), or empty.
    static func gemmBackward(_ gout: Tensor, _ rx: Tensor, _ rw: Tensor, _ x: Tensor, _ weight: Tensor, _ g: ConvGeometry,
                             kept: [Tensor] = []) {
        let hw = g.hw
        let needX = x.requiresGrad, needW = weight.requiresGrad
        guard needX || needW else { return }
        let nb = imagesPerGemm(g)
        let cols = nb * hw
        // 1x1 over several images in bf16: the input gradient's product reads G (unless it is
        // gathered for the weight gradient anyway) and accumulates into dx in (N, C, H, W)
        // (Conv+Images.swift); dx starts at zero, so 0 + dcol becomes the product's beta 1.
        let direct = nb > 1 && g.isPointwise && g.bf16 && needX && directImages(g, nb: nb, m: g.kdim, k: g.og)
        // Both are fully overwritten (im2col/pack or a beta-0 product) before every read.
        let col = needW || !direct ? Tensor(uninitialized: [g.kdim, cols]) : Tensor(uninitialized: [0])
        let gcat = nb > 1 && (needW || !direct) ? Tensor(uninitialized: [g.og, cols]) : nil
        let gw = needW ? Tensor(zeros: weight.shape) : nil
        let gx = needX ? Tensor(zeros: x.shape) : nil
        var img0 = 0, piece = 0
        while img0 < g.n {
            let cnt = Swift.min(nb, g.n - img0)
            for gi in 0..<g.groups {
                defer { piece += 1 }
                // G for this chunk as (og, cnt * hw).
                let gp: UnsafePointer<Float>
                let ldg: Int
                if let gc = gcat {
                    pack(gout.ptr + (img0 * g.cout + gi * g.og) * hw, gc.ptr, count: cnt, rows: g.og, hw: hw,
                         imageStride: g.cout * hw, ld: cols)
                    gp = UnsafePointer(gc.ptr); ldg = cols
                } else if direct {
                    gp = UnsafePointer(gout.ptr + (img0 * g.cout + gi * g.og) * hw); ldg = 0  // mapped below
                } else {
                    gp = UnsafePointer(gout.ptr + (img0 * g.cout + gi * g.og) * hw); ldg = hw
                }
                if let gw = gw {
                    let b: UnsafePointer<Float>
                    let ldb: Int
                    if g.isPointwise && nb == 1 {
                        b = UnsafePointer(rx.ptr + (img0 * g.cin + gi * g.cg) * g.h * g.w); ldb = hw
                    } else if piece < kept.count {
                        b = UnsafePointer(kept[piece].ptr); ldb = cols
                    } else {
                        im2col(rx.ptr, col.ptr, g, img0: img0, count: cnt, group: gi, ld: cols)
                        b = UnsafePointer(col.ptr); ldb = cols
                    }
                    // dW_g (og, kdim) += G (og, n) x col^T (n, kdim)
                    BLAS.gemm(transA: false, transB: true, m: g.og, n: g.kdim, k: cnt * hw, a: gp, lda: ldg, b: b, ldb: ldb,
                              beta: 1, c: gw.ptr + gi * g.og * g.kdim, ldc: g.kdim, bf16: g.bf16)
                }
                if let gx = gx {
                    // dcol (kdim, n) = W_g^T (kdim, og) x G (og, n)
                    if direct {
                        let gm = gcat == nil ? ImageColumns(base: UnsafeMutablePointer(mutating: gp), ld: hw, hw: hw, image: g.cout * hw)
                            : ImageColumns.plain(UnsafeMutablePointer(mutating: gp), ld: ldg)
                        let dx = ImageColumns(base: gx.ptr + (img0 * g.cin + gi * g.cg) * hw, ld: hw, hw: hw, image: g.cin * hw)
                        BLAS.gemmImages(transA: true, m: g.kdim, n: cnt * hw, k: g.og, a: rw.ptr + gi * g.og * g.kdim, lda: g.kdim,
                                        b: gm, beta: 1, c: dx)
                    } else if g.isPointwise && nb == 1 {
                        BLAS.gemm(transA: true, transB: false, m: g.kdim, n: hw, k: g.og, a: rw.ptr + gi * g.og * g.kdim, lda: g.kdim,
                                  b: gp, ldb: hw, beta: 1, c: gx.ptr + (img0 * g.cin + gi * g.cg) * g.h * g.w, ldc: hw, bf16: g.bf16)
                    } else {
                        BLAS.gemm(transA: true, transB: false, m: g.kdim, n: cnt * hw, k: g.og, a: rw.ptr + gi * g.og * g.kdim, lda: g.kdim,
                                  b: gp, ldb: ldg, c: col.ptr, ldc: cols, bf16: g.bf16)
                        col2im(col.ptr, gx.ptr, g, img0: img0, count: cnt, group: gi, ld: cols)
                    }
                }
            }
            img0 += cnt
        }
        if let gw = gw { weight.addGrad(gw) }
        if let gx = gx { x.addGrad(gx) }
    }

    // MARK: depthwise (groups == Cin == Cout)

    /// Depthwise, stride 1, in C: ConvNeXt's 7x7 on the AVX-512 kernel of CKernels/depthwise512.c
    /// where `usesDW7` allows and the CPU has it; otherwise CKernels/depthwise.c (each plane copied
    /// into a zero-padded buffer, 16 outputs at a time, taps that see only padding skipped).
    static func depthwiseForwardS1(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ g: ConvGeometry) -> Tensor {
        let out = Tensor(uninitialized: [g.n, g.cout, g.ho, g.wo])
        let px = x.ptr, pw = w.ptr, po = out.ptr
        let pb = bias.map { UnsafePointer($0.ptr) }
        let fast = usesDW7(g)
        let scratch = Swift.max(adv_dw_scratch(g.h, g.w, g.kh, g.kw, g.ph, g.pw), fast ? adv_dw7_scratch(g.h, g.w) : 0)
        Parallel.forEach(g.n * g.cin, minChunk: Swift.max(1, 32768 / Swift.max(g.hw * g.kh * g.kw, 1))) { r in
            let buf = UnsafeMutablePointer<Float>.allocate(capacity: scratch)
            defer { buf.deallocate() }
            if fast && adv_dw7_planes(px, pw, pb, 0, po, r.lowerBound, r.upperBound, g.cin, g.h, g.w, buf) != 0 { return }
            adv_dw_forward_s1(px, pw, pb, po, r.lowerBound, r.upperBound, g.cin, g.h, g.w, g.kh, g.kw, g.ph, g.pw, buf)
        }
        return out
    }

    /// Backward of `depthwiseForwardS1`, on the same two kernels: the input gradient is the forward
    /// kernel over the output gradient with the kernel flipped; the weight gradient goes into one
    /// row of taps per plane (a channel's rows summed over the batch afterwards, so threads never
    /// share a sum).
    static func depthwiseBackwardS1(_ gout: Tensor, _ rx: Tensor, _ rw: Tensor, _ x: Tensor, _ weight: Tensor, _ g: ConvGeometry) {
        let needX = x.requiresGrad, needW = weight.requiresGrad
        guard needX || needW else { return }
        let kk = g.kh * g.kw
        let gx = needX ? Tensor(uninitialized: x.shape) : nil
        let gwPlanes = needW ? Tensor(zeros: [g.n * g.cin, kk]) : nil
        let px = rx.ptr, pw = rw.ptr, pg = gout.ptr
        let pgx = gx?.ptr, pgw = gwPlanes?.ptr
        let fast = usesDW7(g)
        let scratch = Swift.max(adv_dw_scratch(g.h, g.w, g.kh, g.kw, g.ph, g.pw), fast ? adv_dw7_scratch(g.h, g.w) : 0)
        // Fixed blocks of planes (from the shape only): the small-map weight-gradient kernel sums a
        // channel's planes within its range, so the ranges must not follow the thread count
        // (docs/architecture.md, "Determinism").
        let planes = g.n * g.cin
        let blocks = Parallel.parts(planes, quantum: Swift.max(1, 16384 / Swift.max(g.hw * kk, 1)))
        let per = (planes + blocks - 1) / blocks
        Parallel.forEach(blocks, minChunk: 1) { br in
            let buf = UnsafeMutablePointer<Float>.allocate(capacity: scratch)
            defer { buf.deallocate() }
            for block in br {
                let (p0, p1) = (block * per, Swift.min(planes, (block + 1) * per))
                if p0 >= p1 { continue }
                // The AVX-512 7x7 kernels first; whatever they decline goes to the portable kernel.
                let doneX = fast && pgx != nil && adv_dw7_planes(pg, pw, nil, 1, pgx, p0, p1, g.cin, g.h, g.w, buf) != 0
                let doneW = fast && pgw != nil && adv_dw7_weight_grad(px, pg, pgw, p0, p1, g.cin, g.h, g.w, buf) != 0
                let restX = doneX ? nil : pgx, restW = doneW ? nil : pgw
                if restX == nil && restW == nil { continue }
                adv_dw_backward_s1(px, pw, pg, restX, restW, p0, p1, g.cin, g.h, g.w, g.kh, g.kw, g.ph, g.pw, buf)
            }
        }
        if let gx = gx { x.addGrad(gx) }
        if let planes = gwPlanes {
            let gw = Tensor(zeros: weight.shape)
            let pgw = gw.ptr, pp = planes.ptr, n = g.n, cin = g.cin
            // Channels over threads; each channel sums its planes in batch order.
            Parallel.forEach(cin, minChunk: Swift.max(1, 16384 / Swift.max(n * kk, 1))) { r in
                for c in r {
                    let d = pgw + c * kk
                    for b in 0..<n {
                        let s = pp + (b * cin + c) * kk
                        for t in 0..<kk { d[t] += s[t] }
                    }
                }
            }
            weight.addGrad(gw)
        }
    }

    /// Whether the AVX-512 7x7 kernels (CKernels/depthwise512.c) may take this geometry: ConvNeXt's
    /// 7x7, stride 1, padding 3, on maps of at least 8 rows or at most 16 pixels, with
    /// `Backend.current.dw7` on (the kernels still decline without AVX-512).
    static func usesDW7(_ g: ConvGeometry) -> Bool {
        g.kh == 7 && g.kw == 7 && g.ph == 3 && g.pw == 3 && g.sh == 1 && g.sw == 1 && (g.h >= 8 || g.h * g.w <= 16)
            && Backend.current.dw7
    }

    static func depthwiseForward(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ g: ConvGeometry) -> Tensor {
        if g.sh == 1 && g.sw == 1 && g.ph < g.kh && g.pw < g.kw { return depthwiseForwardS1(x, w, bias, g) }
        let out = Tensor(zeros: [g.n, g.cout, g.ho, g.wo])
        let px = x.ptr, pw = w.ptr, po = out.ptr
        let pb = bias?.ptr
        let planes = g.n * g.cin
        Parallel.forEach(planes, minChunk: Swift.max(1, 32768 / Swift.max(g.hw * g.kh * g.kw, 1))) { r in
            for p in r {
                let c = p % g.cin
                let src = px + p * g.h * g.w
                let dst = po + p * g.hw
                let k = pw + c * g.kh * g.kw
                let b0: Float = pb.map { $0[c] } ?? 0
                for oh in 0..<g.ho {
                    let drow = dst + oh * g.wo
                    for ow in 0..<g.wo { drow[ow] = b0 }
                    for i in 0..<g.kh {
                        let ih = oh * g.sh - g.ph + i
                        if ih < 0 || ih >= g.h { continue }
                        let srow = src + ih * g.w
                        for j in 0..<g.kw {
                            let kv = k[i * g.kw + j]
                            // ow range where iw = ow*sw - pw + j is inside [0, w)
                            let lo = Swift.max(0, (g.pw - j + g.sw - 1) / g.sw)
                            let hi = g.w - 1 + g.pw - j < 0 ? 0 : Swift.min(g.wo, (g.w - 1 + g.pw - j) / g.sw + 1)
                            if lo >= hi { continue }
                            if g.sw == 1 {
                                let s = srow + (j - g.pw)
                                for ow in lo..<hi { drow[ow] += kv * s[ow] }
                            } else {
                                for ow in lo..<hi { drow[ow] += kv * srow[ow * g.sw - g.pw + j] }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    static func depthwiseBackward(_ gout: Tensor, _ rx: Tensor, _ rw: Tensor, _ x: Tensor, _ weight: Tensor, _ g: ConvGeometry) {
        if g.sh == 1 && g.sw == 1 && g.ph < g.kh && g.pw < g.kw { depthwiseBackwardS1(gout, rx, rw, x, weight, g); return }
        let needX = x.requiresGrad, needW = weight.requiresGrad
        guard needX || needW else { return }
        let gx = Tensor(zeros: x.shape)
        // Per-plane weight gradients, summed over the batch afterwards (keeps threads disjoint).
        let gwPlanes = Tensor(zeros: [g.n * g.cin, g.kh * g.kw])
        let px = rx.ptr, pw = rw.ptr, pg = gout.ptr, pgx = gx.ptr, pgw = gwPlanes.ptr
        let planes = g.n * g.cin
        Parallel.forEach(planes, minChunk: Swift.max(1, 16384 / Swift.max(g.hw * g.kh * g.kw, 1))) { r in
            for p in r {
                let c = p % g.cin
                let src = px + p * g.h * g.w
                let dsrc = pgx + p * g.h * g.w
                let gp = pg + p * g.hw
                let k = pw + c * g.kh * g.kw
                let dk = pgw + p * g.kh * g.kw
                for oh in 0..<g.ho {
                    let grow = gp + oh * g.wo
                    for i in 0..<g.kh {
                        let ih = oh * g.sh - g.ph + i
                        if ih < 0 || ih >= g.h { continue }
                        let srow = src + ih * g.w
                        let dsrow = dsrc + ih * g.w
                        for j in 0..<g.kw {
                            let lo = Swift.max(0, (g.pw - j + g.sw - 1) / g.sw)
                            let hi = g.w - 1 + g.pw - j < 0 ? 0 : Swift.min(g.wo, (g.w - 1 + g.pw - j) / g.sw + 1)
                            if lo >= hi { continue }
                            let kv = k[i * g.kw + j]
                            var acc: Float = 0
                            for ow in lo..<hi {
                                let iw = ow * g.sw - g.pw + j
                                acc += grow[ow] * srow[iw]
                                dsrow[iw] += kv * grow[ow]
                            }
                            dk[i * g.kw + j] += acc
                        }
                    }
                }
            }
        }
        if needX { x.addGrad(gx) }
        if needW {
            let gw = Tensor(zeros: weight.shape)
            let kk = g.kh * g.kw
            for p in 0..<planes {
                let c = p % g.cin
                for t in 0..<kk { gw.ptr[c * kk + t] += pgw[p * kk + t] }
            }
            weight.addGrad(gw)
        }
    }
}
