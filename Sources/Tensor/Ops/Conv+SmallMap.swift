// Convolution on small feature maps, computing only the taps that see the image.
//
// At 32x32 input the late stages of a CNN run 3x3 convolutions on 4x4, 2x2 and 1x1 maps with
// padding 1: on a 2x2 map each output sees 4 of its 9 taps, on a 1x1 map 1 of 9, so im2col +
// sgemm spends half to 8/9 of its multiply-adds on zeros (ResNet-50 at 32x32: 20% of all its
// conv work). Here output positions are grouped by the rectangle of taps that lands inside the
// image; each group is a product over just those taps, with the weight in tap-major order
// (Cout, kh, kw, Cin) so a row of taps is one contiguous slice of it. The forward pass splits
// the batch into fixed blocks of images run over the threads; the backward pass runs each class over chunks of the batch, its products
// split by BLAS.gemm.
//
// x: (N, Cin, H, W), weight: (Cout, Cin, kh, kw) -> (N, Cout, Ho, Wo); groups == 1.
import CKernels

/// The output positions of a convolution grouped by the taps they use.
struct SmallMapPlan {
    /// Output positions whose in-image taps are rows ky0..<ky1 and columns kx0..<kx1.
    struct TapClass {
        let ky0, ky1, kx0, kx1: Int
        /// Output positions (oy * wo + ox).
        var positions: [Int] = []
        /// For each position, the offset in an input plane of its (ky, kx) = (0, 0) tap.
        var origins: [Int] = []
        var nky: Int { ky1 - ky0 }
        var nkx: Int { kx1 - kx0 }
        var taps: Int { nky * nkx }
    }

    let classes: [TapClass]

    /// Largest output map (positions) the plan is used for: beyond that the per-group products
    /// get many and small, and the im2col waste is small anyway.
    static let maxPositions = 64
    /// The plan is used when at most this share of the kernel's taps lands inside the image.
    static let maxValidShare = 0.75

    /// The plan for `g`, or nil when plain im2col + sgemm is the better path (grouped
    /// convolutions, large maps, or few taps in the padding).
    static func make(_ g: ConvGeometry) -> SmallMapPlan? {
        guard g.groups == 1, g.hw <= maxPositions, g.kh * g.kw > 1, g.ph > 0 || g.pw > 0 else { return nil }
        var classes: [TapClass] = []
        var index: [[Int]: Int] = [:]
        var valid = 0
        for oy in 0..<g.ho {
            let top = oy * g.sh - g.ph
            let ky0 = Swift.max(0, -top), ky1 = Swift.min(g.kh, g.h - top)
            for ox in 0..<g.wo {
                let left = ox * g.sw - g.pw
                let kx0 = Swift.max(0, -left), kx1 = Swift.min(g.kw, g.w - left)
                // (Unclamped ends: outputs that see only padding may form several zero-tap classes.)
                let key = [ky0, ky1, kx0, kx1]
                let ci: Int
                if let i = index[key] {
                    ci = i
                } else {
                    ci = classes.count
                    index[key] = ci
                    classes.append(TapClass(ky0: ky0, ky1: Swift.max(ky0, ky1), kx0: kx0, kx1: Swift.max(kx0, kx1)))
                }
                classes[ci].positions.append(oy * g.wo + ox)
                classes[ci].origins.append(top * g.w + left)
                valid += classes[ci].taps
            }
        }
        guard Double(valid) <= maxValidShare * Double(g.hw * g.kh * g.kw) else { return nil }
        return SmallMapPlan(classes: classes)
    }
}

extension Conv {
    /// The weight (Cout, Cin, kh, kw) in tap-major order (Cout, kh * kw * Cin).
    static func tapMajor(_ w: Tensor, _ g: ConvGeometry) -> Tensor {
        let taps = g.kh * g.kw, c = g.cin
        let out = Tensor(uninitialized: [g.cout, taps * c])
        let src = w.ptr, dst = out.ptr
        Parallel.forEach(g.cout, minChunk: Swift.max(1, 16384 / Swift.max(taps * c, 1))) { r in
            for o in r {
                let s = src + o * c * taps, d = dst + o * taps * c
                for ch in 0..<c {
                    for t in 0..<taps { d[t * c + ch] = s[ch * taps + t] }
                }
            }
        }
        return out
    }

    /// Forward through the plan: out (N, Cout, Ho, Wo), every position written by its class.
    static func smallMapForward(_ x: Tensor, _ wt: Tensor, _ bias: Tensor?, _ g: ConvGeometry, _ plan: SmallMapPlan) -> Tensor {
        let out = Tensor(uninitialized: [g.n, g.cout, g.ho, g.wo])
        let px = UnsafePointer(x.ptr), pwt = UnsafePointer(wt.ptr), pout = out.ptr
        // Fixed blocks of images from the shape only, never the thread count (a product's shape
        // decides its bits: docs/architecture.md, "Determinism"); the blocks go over the threads.
        let blocks = Parallel.parts(g.n, quantum: 8, maxParts: 2)
        let perBlock = (g.n + blocks - 1) / blocks
        Parallel.forEach(blocks, minChunk: 1) { br in
            for block in br where block * perBlock < g.n {
                forwardBlock(px, pwt, pout, g, plan, images: (block * perBlock)..<Swift.min(g.n, (block + 1) * perBlock))
            }
        }
        if let bias = bias { addBias(out, bias, g) }
        return out
    }

    /// The forward pass of the images `r`, class by class, in chunks whose column matrix stays
    /// under Backend.current.smallMapColumnFloats.
    private static func forwardBlock(_ px: UnsafePointer<Float>, _ pwt: UnsafePointer<Float>, _ pout: UnsafeMutablePointer<Float>,
                                     _ g: ConvGeometry, _ plan: SmallMapPlan, images r: Range<Int>) {
        let ldw = g.kh * g.kw * g.cin, hw = g.hw
        for tc in plan.classes {
            let np = tc.positions.count
            let perImage = Swift.max(tc.taps * g.cin, g.cout) * np
            let chunk = Swift.max(1, Swift.min(r.count, Backend.current.smallMapColumnFloats / Swift.max(perImage, 1)))
            var b0 = r.lowerBound
            while b0 < r.upperBound {
                let nb = Swift.min(chunk, r.upperBound - b0), ncol = nb * np
                defer { b0 += nb }
                let res = UnsafeMutablePointer<Float>.allocate(capacity: g.cout * ncol)
                defer { res.deallocate() }
                if tc.taps == 0 {
                    res.update(repeating: 0, count: g.cout * ncol)
                } else {
                    let cols = UnsafeMutablePointer<Float>.allocate(capacity: tc.taps * g.cin * ncol)
                    defer { cols.deallocate() }
                    gatherColumns(px, cols, g, tc, b0: b0, nb: nb)
                    let k = tc.nkx * g.cin
                    for kyi in 0..<tc.nky {
                        // res (Cout, ncol) += W[:, row ky, kx0..<kx1, :] (Cout, k) x cols rows of ky (k, ncol)
                        BLAS.gemm(transA: false, transB: false, m: g.cout, n: ncol, k: k,
                                  a: pwt + ((tc.ky0 + kyi) * g.kw + tc.kx0) * g.cin, lda: ldw,
                                  b: cols + kyi * k * ncol, ldb: ncol, beta: kyi == 0 ? 0 : 1, c: res, ldc: ncol, bf16: g.bf16)
                    }
                }
                tc.positions.withUnsafeBufferPointer { pos in
                    for o in 0..<g.cout {
                        let src = res + o * ncol
                        for b in 0..<nb {
                            let dst = pout + ((b0 + b) * g.cout + o) * hw
                            for j in 0..<np { dst[pos[j]] = src[b * np + j] }
                        }
                    }
                }
            }
        }
    }

    /// Backward through the plan, one tap class at a time over chunks of the batch (products
    /// large enough for BLAS.gemm to split over the threads; a chunk's column matrix stays under
    /// `Backend.smallMapColumnFloats`): the weight gradient accumulates in tap-major order (taps
    /// no class uses stay zero without being written twice), the input gradient is scattered
    /// back with threads owning disjoint channels.
    static func smallMapBackward(_ gout: Tensor, _ rx: Tensor, _ wt: Tensor, _ x: Tensor, _ weight: Tensor,
                                 _ g: ConvGeometry, _ plan: SmallMapPlan) {
        let needX = x.requiresGrad, needW = weight.requiresGrad
        guard needX || needW else { return }
        let taps = g.kh * g.kw, ldw = taps * g.cin, hw = g.hw, plane = g.h * g.w, cin = g.cin
        let gx = needX ? Tensor(zeros: x.shape) : nil
        let dwt = needW ? Tensor(uninitialized: [g.cout, ldw]) : nil
        var touched = [Bool](repeating: false, count: taps)
        let pgout = UnsafePointer(gout.ptr), px = UnsafePointer(rx.ptr), pwt = UnsafePointer(wt.ptr)
        for tc in plan.classes where tc.taps > 0 {
            let np = tc.positions.count, k = tc.nkx * cin
            let perImage = Swift.max(tc.taps * cin, g.cout) * np
            let chunk = Swift.max(1, Swift.min(g.n, Backend.current.smallMapColumnFloats / Swift.max(perImage, 1)))
            var b0 = 0
            while b0 < g.n {
                let nb = Swift.min(chunk, g.n - b0), ncol = nb * np
                defer { b0 += nb }
                // G (Cout, nb * np): this class's output gradient for images b0..<b0+nb.
                let gc = UnsafeMutablePointer<Float>.allocate(capacity: g.cout * ncol)
                defer { gc.deallocate() }
                tc.positions.withUnsafeBufferPointer { pos in
                    guard let pp = pos.baseAddress else { return }
                    Parallel.forEach(g.cout, minChunk: Swift.max(1, 8192 / Swift.max(ncol, 1))) { r in
                        for o in r {
                            let dst = gc + o * ncol
                            for b in 0..<nb {
                                let src = pgout + ((b0 + b) * g.cout + o) * hw
                                for j in 0..<np { dst[b * np + j] = src[pp[j]] }
                            }
                        }
                    }
                }
                let cols = UnsafeMutablePointer<Float>.allocate(capacity: tc.taps * cin * ncol)
                defer { cols.deallocate() }
                if let dw = dwt?.ptr {
                    gatherColumns(px, cols, g, tc, b0: b0, nb: nb)
                    for kyi in 0..<tc.nky {
                        let t0 = (tc.ky0 + kyi) * g.kw + tc.kx0
                        // Taps of this row written for the first time start from zero: all of
                        // them through beta 0, some of them by zeroing those first.
                        let fresh = (t0..<t0 + tc.nkx).filter { !touched[$0] }
                        let allFresh = fresh.count == tc.nkx
                        if !allFresh {
                            for o in 0..<g.cout { for t in fresh { (dw + o * ldw + t * cin).update(repeating: 0, count: cin) } }
                        }
                        for t in fresh { touched[t] = true }
                        // dW[:, row ky, kx0..<kx1, :] (Cout, k) (+)= G (Cout, ncol) x cols_ky^T (ncol, k)
                        BLAS.gemm(transA: false, transB: true, m: g.cout, n: k, k: ncol, a: gc, lda: ncol,
                                  b: cols + kyi * k * ncol, ldb: ncol, beta: allFresh ? 0 : 1,
                                  c: dw + t0 * cin, ldc: ldw, bf16: g.bf16)
                    }
                }
                if let dx = gx?.ptr {
                    for kyi in 0..<tc.nky {
                        // dcols rows of ky (k, ncol) = W[:, row ky, kx0..<kx1, :]^T (k, Cout) x G (Cout, ncol)
                        BLAS.gemm(transA: true, transB: false, m: k, n: ncol, k: g.cout,
                                  a: pwt + ((tc.ky0 + kyi) * g.kw + tc.kx0) * cin, lda: ldw,
                                  b: gc, ldb: ncol, c: cols + kyi * k * ncol, ldc: ncol, bf16: g.bf16)
                    }
                    let dcols = UnsafePointer(cols)
                    tc.origins.withUnsafeBufferPointer { org in
                        guard let orgs = org.baseAddress else { return }
                        // Channels over threads: each adds only into its own input planes.
                        Parallel.forEach(cin, minChunk: Swift.max(1, 8192 / Swift.max(tc.taps * ncol, 1))) { r in
                            for ch in r {
                                for kyi in 0..<tc.nky {
                                    for kxi in 0..<tc.nkx {
                                        let shift = (tc.ky0 + kyi) * g.w + tc.kx0 + kxi
                                        let row = dcols + ((kyi * tc.nkx + kxi) * cin + ch) * ncol
                                        for b in 0..<nb {
                                            let dst = dx + ((b0 + b) * cin + ch) * plane
                                            let src = row + b * np
                                            for j in 0..<np { dst[orgs[j] + shift] += src[j] }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if let dwt = dwt {
            // Back to (Cout, Cin, kh, kw); taps no class used are zero.
            let gw = Tensor(uninitialized: weight.shape)
            let src = UnsafePointer(dwt.ptr), dst = gw.ptr
            touched.withUnsafeBufferPointer { tb in
                guard let used = tb.baseAddress else { return }
                Parallel.forEach(g.cout, minChunk: Swift.max(1, 16384 / Swift.max(ldw, 1))) { r in
                    for o in r {
                        let s = src + o * ldw, d = dst + o * ldw
                        for t in 0..<taps {
                            if used[t] {
                                for ch in 0..<cin { d[ch * taps + t] = s[t * cin + ch] }
                            } else {
                                for ch in 0..<cin { d[ch * taps + t] = 0 }
                            }
                        }
                    }
                }
            }
            weight.addGrad(gw)
        }
        if let gx = gx { x.addGrad(gx) }
    }

    /// cols (taps * Cin, nb * np) for one class and images b0..<b0+nb: row (tap, ch), column
    /// (image, position) holds the input pixel that tap sees. Rows over threads (serial when
    /// called from a thread of the forward pass, which is already inside a parallel loop).
    private static func gatherColumns(_ x: UnsafePointer<Float>, _ cols: UnsafeMutablePointer<Float>, _ g: ConvGeometry,
                                              _ tc: SmallMapPlan.TapClass, b0: Int, nb: Int) {
        let np = tc.positions.count, ncol = nb * np, plane = g.h * g.w, cin = g.cin
        tc.origins.withUnsafeBufferPointer { org in
            guard let orgs = org.baseAddress else { return }
            Parallel.forEach(tc.taps * cin, minChunk: Swift.max(1, 8192 / Swift.max(ncol, 1))) { r in
                for rowIndex in r {
                    let tap = rowIndex / cin, ch = rowIndex % cin
                    let shift = (tc.ky0 + tap / tc.nkx) * g.w + tc.kx0 + tap % tc.nkx
                    let row = cols + rowIndex * ncol
                    for b in 0..<nb {
                        let src = x + ((b0 + b) * cin + ch) * plane
                        let dst = row + b * np
                        for j in 0..<np { dst[j] = src[orgs[j] + shift] }
                    }
                }
            }
        }
    }
}
