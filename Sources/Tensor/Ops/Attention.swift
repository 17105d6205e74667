// Scaled dot-product attention with an optional additive bias (relative position bias, masks).
// q: (B, H, T, D), k: (B, H, S, D), v: (B, H, S, Dv); bias broadcastable to (B, H, T, S) -> (B, H, T, Dv)
//
// Fused: per (batch, head), in parallel: scores = scale q k^T accumulated onto the bias, softmax
// in place, then P v. With AVX-512 the forward loop over a chunk of heads is attention512.c's
// (which also prefetches the next heads' q, k, v a few lines per tile) whenever its products are
// ones BLAS.gemmSmall would give the small-product kernel; otherwise (no AVX-512, fp16, a bias
// broadcast along S, long sequences, one large head) the loop below runs them on BLAS.gemmSmall,
// which picks that kernel or OpenBLAS. The probabilities are kept for backward only when an input
// needs a gradient; otherwise each chunk of heads works in one scratch buffer. At precision bf16
// with the AVX512-BF16 kernel (Backend.bf16) every product runs on it (bf16gemm.c), which rounds
// the operands as it packs them, so no rounded copies are made (see Attention+Packed.swift).
import CKernels

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
        let nb = q.shape[0], nh = q.shape[1], t = q.shape[2], d = q.shape[3], s = k.shape[2], dv = v.shape[3]
        let scoreShape = [nb, nh, t, s]
        var bst: [Int] = [0, 0, 0, 0]
        if let b = bias {
            let bs = try Strided.broadcastShape(b.shape, scoreShape, op: "attention bias")
            guard bs == scoreShape else {
                throw EngineError.shape("attention: bias \(b.shape) does not broadcast to scores \(scoreShape)")
            }
            bst = Strided.broadcastStrides(b.shape, to: scoreShape)
        }
        var inputs = [q, k, v]
        if let b = bias { inputs.append(b) }
        // Without a backward pass the probabilities need not be kept: each chunk of heads then
        // reuses one cache-resident (T, S) scratch instead of writing B H T S floats to memory.
        let keep = Tensor.needsGrad(inputs)
        // bf16 products on the AVX512-BF16 kernel: it rounds the operands itself.
        let bf = precision == .bf16 && Backend.current.bf16
        let rounding = bf ? Precision.fp32 : precision
        let rq = rounding.rounded(q), rk = rounding.rounded(k), rv = rounding.rounded(v)
        let probs = Tensor(uninitialized: keep ? scoreShape : [0])
        // P rounded for the second product (equal to probs in fp32 and for the bf16 kernel).
        let rprobs = precision == .fp32 || bf || !keep ? probs : Tensor(uninitialized: scoreShape)
        let out = Tensor(uninitialized: [nb, nh, t, dv])
        let pq = rq.ptr, pk = rk.ptr, pv = rv.ptr, po = out.ptr
        let pb = bias?.ptr
        let heads = nb * nh
        let perHead = 2 * t * s * (d + dv)
        // The AVX-512 loop of attention512.c (fp32 and bf16, a bias contiguous along S).
        var args: adv_attention_args? = nil
        if precision != .fp16 && (bias == nil || bst[3] == 1) {
            args = adv_attention_args(
                heads: nh, t: t, s: s, d: d, dv: dv,
                q: pq, q_batch: nh * t * d, q_head: t * d, ldq: d,
                k: pk, k_batch: nh * s * d, k_head: s * d, ldk: d,
                v: pv, v_batch: nh * s * dv, v_head: s * dv, ldv: dv,
                out: po, out_batch: nh * t * dv, out_head: t * dv, ldo: dv,
                bias: pb, bias_groups: bst[0] == 0 ? 1 : nb, bias_batch: bst[0], bias_head: bst[1], ldbias: bst[2],
                scale: scale, probs: keep ? probs.ptr : nil,
                rprobs: keep && precision != .fp32 && !bf ? rprobs.ptr : nil, round_bf16: precision == .bf16 ? 1 : 0,
                bf16_products: bf ? 1 : 0)
        }
        Parallel.forEach(heads, minChunk: Swift.max(1, 200_000 / Swift.max(perHead, 1))) { r in
            // The C loop's scratch: t floats (the rows' 1 / sum), then the loop below's (T, S)
            // scores and rounded probabilities when they are not kept.
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: t + (keep ? 0 : 2 * t * s))
            defer { buffer.deallocate() }
            // The products the loop below would give to the small-product kernel (BLAS.gemmSmall,
            // inside this loop body whether or not the heads are split over the threads).
            if var a = args, BLAS.isSmall(t, s, d), BLAS.isSmall(t, dv, s),
               adv_attention_forward(&a, r.lowerBound, r.upperBound, buffer) != 0 { return }
            let scratch = keep ? nil : buffer + t
            for bh in r {
                // This head's scores / probabilities, and P rounded for the second product.
                let sp = scratch ?? probs.ptr + bh * t * s
                let rp = precision == .fp32 || bf ? sp : (scratch.map { $0 + t * s } ?? rprobs.ptr + bh * t * s)
                // scores (T, S) = scale q k^T + bias: a bias contiguous along S is added in the
                // product's epilogue; one broadcast along S is spread into the scores first.
                let a = pq + bh * t * d, b = pk + bh * s * d
                if let pb = pb {
                    let base = pb + (bh / nh) * bst[0] + (bh % nh) * bst[1]
                    if bst[3] == 1 {
                        BLAS.gemmSmallAdd(transA: false, transB: true, m: t, n: s, k: d, alpha: scale, a: a, lda: d,
                                          b: b, ldb: d, d: base, ldd: bst[2], c: sp, ldc: s, bf16: bf)
                    } else {
                        for i in 0..<t {
                            let row = sp + i * s, brow = base + i * bst[2]
                            for j in 0..<s { row[j] = brow[j * bst[3]] }
                        }
                        BLAS.gemmSmall(transA: false, transB: true, m: t, n: s, k: d, alpha: scale, a: a, lda: d,
                                       b: b, ldb: d, beta: 1, c: sp, ldc: s, bf16: bf)
                    }
                } else {
                    BLAS.gemmSmall(transA: false, transB: true, m: t, n: s, k: d, alpha: scale, a: a, lda: d,
                                   b: b, ldb: d, c: sp, ldc: s, bf16: bf)
                }
                adv_softmax_rows(sp, sp, t, s)
                if precision != .fp32 && !bf { precision.round(sp, rp, t * s) }
                BLAS.gemmSmall(transA: false, transB: false, m: t, n: dv, k: s, a: rp, lda: s,
                               b: pv + bh * s * dv, ldb: dv, c: po + bh * t * dv, ldc: dv, bf16: bf)
            }
        }
        guard keep else { return out }
        out.record(inputs) { g in
            Tensor.attentionBackward(g, q: q, k: k, v: v, bias: bias, scale: scale, precision: precision,
                                     rq: rq, rk: rk, rv: rv, probs: probs, rprobs: rprobs, bf16Products: bf)
        }
        return out
    }

    /// Whether attention's backward products run on the AVX512-BF16 kernel when its forward ones
    /// did: for heads of at least 32 queries and keys. Below that the kernel's per-call packing
    /// costs more than it saves there (the forward still gains): Swin's 4x4 windows (T = S = 16,
    /// D = 32) ran forward + backward at 2.9 GFLOP/s with every product on it against 3.4 on fp32
    /// FMAs over rounded copies, though the forward alone ran 1.4x faster on it (`AdvBench
    /// kernels`, "attention bf16" rows, ADV_BF16=0 for the latter; BENCHMARKS.md, h-attn).
    static func attentionBackwardOnBF16Kernel(t: Int, s: Int) -> Bool {
        Swift.min(t, s) >= 32
    }

    /// The gradients of `attention`, per (batch, head), on the products' rounded inputs:
    /// dV = P^T dO, dP = dO V^T, dS = P * (dP - rowsum(dP * P)), dQ = scale dS K, dK = scale dS^T Q,
    /// dbias = dS summed over the dimensions the bias was broadcast along.
    /// - Parameters:
    ///   - g: (B, H, T, Dv) the output gradient
    ///   - q: (B, H, T, D), k: (B, H, S, D), v: (B, H, S, Dv), bias: broadcastable to (B, H, T, S) or
    ///     nil: the inputs, which receive the gradients
    ///   - rq, rk, rv: q, k, v rounded to `precision`
    ///   - probs: (B, H, T, S) the softmax probabilities the forward pass kept
    ///   - rprobs: probs rounded to `precision` (probs itself in fp32)
    ///   - bf16Products: the products run on the AVX512-BF16 kernel, which rounds the operands as it
    ///     packs them (rq, rk, rv, rprobs are then unrounded; dS is still rounded for the bias); this
    ///     pass's products use it too for heads `attentionBackwardOnBF16Kernel` admits, and round
    ///     copies for the fp32 kernels otherwise
    static func attentionBackward(_ g: Tensor, q: Tensor, k: Tensor, v: Tensor, bias: Tensor?, scale: Float, precision: Precision,
                                  rq: Tensor, rk: Tensor, rv: Tensor, probs: Tensor, rprobs: Tensor, bf16Products: Bool = false) {
        let nb = q.shape[0], nh = q.shape[1], t = q.shape[2], d = q.shape[3], s = k.shape[2], dv = v.shape[3]
        let bf = bf16Products && attentionBackwardOnBF16Kernel(t: t, s: s)
        // The forward pass left the rounding to the kernel: round here for the fp32 kernels.
        let copies = bf16Products && !bf
        let rq = copies ? precision.rounded(q) : rq, rk = copies ? precision.rounded(k) : rk
        let rv = copies ? precision.rounded(v) : rv, rprobs = copies ? precision.rounded(probs) : rprobs
        let scoreShape = [nb, nh, t, s]
        let heads = nb * nh
        let perHead = 2 * t * s * (d + dv)
        let rg = bf ? g : precision.rounded(g)
        // Every element of these is written by exactly one head's product (beta 0): no zeroing.
        let gq = Tensor(uninitialized: q.shape), gk = Tensor(uninitialized: k.shape), gv = Tensor(uninitialized: v.shape)
        let ds = Tensor(uninitialized: scoreShape)
        let pg = rg.ptr, pgq = gq.ptr, pgk = gk.ptr, pgv = gv.ptr, pds = ds.ptr
        // The recording closure owns the saved tensors (raw pointers alone would dangle).
        let pq = rq.ptr, pk = rk.ptr, pv = rv.ptr, pp = probs.ptr, prp = rprobs.ptr
        Parallel.forEach(heads, minChunk: Swift.max(1, 300_000 / Swift.max(perHead, 1))) { r in
            for bh in r {
                let P = pp + bh * t * s, RP = prp + bh * t * s, dS = pds + bh * t * s
                let dO = pg + bh * t * dv
                // dV = P^T dO
                BLAS.gemmSmall(transA: true, transB: false, m: s, n: dv, k: t, a: RP, lda: s, b: dO, ldb: dv,
                               c: pgv + bh * s * dv, ldc: dv, bf16: bf)
                // dP = dO V^T
                BLAS.gemmSmall(transA: false, transB: true, m: t, n: s, k: dv, a: dO, lda: dv, b: pv + bh * s * dv, ldb: dv,
                               c: dS, ldc: s, bf16: bf)
                // dS = P * (dP - rowsum(dP * P))
                adv_softmax_rows_backward(dS, P, dS, t, s)
                if precision != .fp32 { precision.round(dS, dS, t * s) }
                // dQ = scale dS K ; dK = scale dS^T Q
                BLAS.gemmSmall(transA: false, transB: false, m: t, n: d, k: s, alpha: scale, a: dS, lda: s,
                               b: pk + bh * s * d, ldb: d, c: pgq + bh * t * d, ldc: d, bf16: bf)
                BLAS.gemmSmall(transA: true, transB: false, m: s, n: d, k: t, alpha: scale, a: dS, lda: s,
                               b: pq + bh * t * d, ldb: d, c: pgk + bh * s * d, ldc: d, bf16: bf)
            }
        }
        q.addGrad(gq)
        k.addGrad(gk)
        v.addGrad(gv)
        if let b = bias, b.requiresGrad { b.addGrad(Tensor.reduceTo(ds, b.shape)) }
    }
}
