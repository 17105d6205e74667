// Multi-head self-attention straight from a packed qkv projection, as ViT and Swin blocks use it.
// qkv: (B, T, 3 * H * D) laid out as (B, T, 3, H, D); bias: (G, H, T, T) with B % G == 0 or nil
//   -> (B, T, H * D) laid out as (B, T, H, D)
//
// The same computation as `attention(q:k:v:)` after reshape/permute/split, but every product reads
// q, k and v in place with a row stride of 3 H D and writes its head's output columns in place, so
// neither direction copies q, k, v or the output through permutes (ViT: 4 copies of (B, T, 3C)
// per block and direction).
//
// At precision bf16 with the AVX512-BF16 kernel (Backend.bf16), the per-head products (scores,
// P v, and backward's dV, dP, dQ, dK for heads of at least 32 tokens: `attentionBackwardOnBF16Kernel`)
// run on it (CKernels/bf16gemm.c: vdpbf16ps, fp32 accumulation), which rounds q, k, v, P, dO and
// dS to bf16 as it packs them: the same operand values as rounding them first, without the
// rounded copies.
import CKernels

extension Tensor {
    /// softmax(q k^T * scale + bias) v per head, with q, k, v read from a packed projection.
    /// - Parameters:
    ///   - qkv: (B, T, 3 * heads * D): for each token, all heads' queries, then keys, then values.
    ///   - heads: number of heads H.
    ///   - bias: (G, H, T, T) added to the scores, sequence b using bias[b % G] (G = 1 for one
    ///     shared bias; Swin's windows use G = windows per image, so each window position keeps its
    ///     own mask); nil for none.
    ///   - scale: multiplies q k^T (usually 1/sqrt(D)).
    ///   - precision: rounding of the inputs of both products.
    /// - Returns: (B, T, heads * D), heads side by side as `permute([0, 2, 1, 3])` would give them.
    public static func attentionPacked(qkv: Tensor, heads: Int, bias: Tensor?, scale: Float,
                                       precision: Precision = .current) throws -> Tensor {
        guard qkv.rank == 3, heads >= 1, qkv.shape[2] % (3 * heads) == 0, qkv.shape[2] > 0 else {
            throw EngineError.shape("attentionPacked: qkv must be (B, T, 3 * heads * D) for \(heads) heads, got \(qkv.shape)")
        }
        let nb = qkv.shape[0], t = qkv.shape[1], c = qkv.shape[2] / 3, d = c / heads
        var groups = 1
        if let b = bias {
            guard b.rank == 4, b.shape[0] >= 1, nb % b.shape[0] == 0, b.shape[1] == heads, b.shape[2] == t, b.shape[3] == t else {
                throw EngineError.shape("attentionPacked: bias \(b.shape) must be (G, \(heads), \(t), \(t)) with \(nb) divisible by G")
            }
            groups = b.shape[0]
        }
        let ld = 3 * c
        var inputs = [qkv]
        if let b = bias { inputs.append(b) }
        // Without a backward pass the probabilities need not be kept: each chunk of heads then
        // reuses one cache-resident (T, T) scratch instead of writing B H T T floats to memory.
        let keep = Tensor.needsGrad(inputs)
        // bf16 products on the AVX512-BF16 kernel: it rounds the operands itself.
        let bf = precision == .bf16 && Backend.current.bf16
        let rqkv = bf ? qkv : precision.rounded(qkv)
        let scoreShape = [nb, heads, t, t]
        let probs = Tensor(uninitialized: keep ? scoreShape : [0])
        // P rounded for the second product goes to a per-chunk scratch, kept or not: backward
        // rounds the kept P again (the same values) instead of reading B H T T more floats.
        let out = Tensor(uninitialized: [nb, t, c])
        let px = rqkv.ptr, po = out.ptr
        let pb = bias?.ptr
        let perHead = 4 * t * t * d
        // The AVX-512 loop of attention512.c (fp32 and bf16).
        var args: adv_attention_args? = nil
        if precision != .fp16 {
            args = adv_attention_args(
                heads: heads, t: t, s: t, d: d, dv: d,
                q: px, q_batch: t * ld, q_head: d, ldq: ld,
                k: px + c, k_batch: t * ld, k_head: d, ldk: ld,
                v: px + 2 * c, v_batch: t * ld, v_head: d, ldv: ld,
                out: po, out_batch: t * c, out_head: d, ldo: c,
                bias: pb, bias_groups: groups, bias_batch: heads * t * t, bias_head: t * t, ldbias: t,
                scale: scale, probs: keep ? probs.ptr : nil,
                rprobs: nil, round_bf16: precision == .bf16 ? 1 : 0, bf16_products: bf ? 1 : 0)
        }
        Parallel.forEach(nb * heads, minChunk: Swift.max(1, 200_000 / Swift.max(perHead, 1))) { r in
            // The C loop's scratch: t floats (the rows' 1 / sum), then the loop below's (T, S)
            // scores when they are not kept, and the rounded probabilities.
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: t + 2 * t * t)
            defer { buffer.deallocate() }
            // The products the loop below would give to the small-product kernel (BLAS.gemmSmall,
            // inside this loop body whether or not the heads are split over the threads).
            if var a = args, BLAS.isSmall(t, t, d), BLAS.isSmall(t, d, t),
               adv_attention_forward(&a, r.lowerBound, r.upperBound, buffer) != 0 { return }
            let scratch = keep ? nil : buffer + t, rscratch = buffer + t + t * t
            for bh in r {
                let b = bh / heads, h = bh % heads
                let q = px + b * t * ld + h * d, k = q + c, v = q + 2 * c
                // This head's scores / probabilities, and P rounded for the second product.
                let sp = scratch ?? probs.ptr + bh * t * t
                let rp = precision == .fp32 || bf ? sp : rscratch
                // scores (T, T) = scale q k^T (+ bias, added in the product's epilogue)
                if let pb = pb {
                    BLAS.gemmSmallAdd(transA: false, transB: true, m: t, n: t, k: d, alpha: scale, a: q, lda: ld, b: k, ldb: ld,
                                      d: pb + ((b % groups) * heads + h) * t * t, ldd: t, c: sp, ldc: t, bf16: bf)
                } else {
                    BLAS.gemmSmall(transA: false, transB: true, m: t, n: t, k: d, alpha: scale, a: q, lda: ld, b: k, ldb: ld,
                                   c: sp, ldc: t, bf16: bf)
                }
                adv_softmax_rows(sp, sp, t, t)
                if precision != .fp32 && !bf { precision.round(sp, rp, t * t) }
                // out (T, D) = P v, written into this head's columns
                BLAS.gemmSmall(transA: false, transB: false, m: t, n: d, k: t, a: rp, lda: t, b: v, ldb: ld,
                               c: po + b * t * c + h * d, ldc: c, bf16: bf)
            }
        }
        guard keep else { return out }
        out.record(inputs) { g in
            Tensor.attentionPackedBackward(g, qkv: qkv, heads: heads, bias: bias, scale: scale, precision: precision,
                                           rqkv: rqkv, probs: probs, bf16Products: bf)
        }
        return out
    }

    /// The gradients of `attentionPacked`: per (sequence, head) as in `attentionBackward`, with
    /// dQ, dK, dV written in place into one (B, T, 3 H D) gradient laid out like qkv; the bias
    /// gradient sums the score gradients of the sequences sharing each bias group.
    /// - Parameters:
    ///   - g: (B, T, H * D) the output gradient
    ///   - qkv: (B, T, 3 * H * D), bias: (G, H, T, T) or nil: the inputs, which receive the gradients
    ///   - rqkv: qkv rounded to `precision` (qkv itself with `bf16Products`)
    ///   - probs: (B, H, T, T) the softmax probabilities the forward pass kept (rounded to
    ///     `precision` again here, head by head, for dV)
    ///   - bf16Products: the forward products ran on the AVX512-BF16 kernel, which rounds every
    ///     operand as it packs it (rqkv is qkv unrounded); this pass's products use it too for heads
    ///     `attentionBackwardOnBF16Kernel` admits (no rounding passes then, except dS's when it is
    ///     kept for the bias), and round copies for the fp32 kernels otherwise
    static func attentionPackedBackward(_ g: Tensor, qkv: Tensor, heads: Int, bias: Tensor?, scale: Float, precision: Precision,
                                        rqkv: Tensor, probs: Tensor, bf16Products: Bool = false) {
        let nb = qkv.shape[0], t = qkv.shape[1], c = qkv.shape[2] / 3, d = c / heads
        let bf = bf16Products && attentionBackwardOnBF16Kernel(t: t, s: t)
        // The forward pass left the rounding to the kernel: round here for the fp32 kernels.
        let rqkv = bf16Products && !bf ? precision.rounded(qkv) : rqkv
        let ld = 3 * c
        let groups = bias?.shape[0] ?? 1
        let scoreShape = [nb, heads, t, t]
        let perHead = 4 * t * t * d
        let rg = bf ? g : precision.rounded(g)
        // Every element of gqkv is written by exactly one head's product (beta 0).
        let gqkv = Tensor(uninitialized: qkv.shape)
        // The score gradients are kept only for the bias's gradient; otherwise (an attack's input
        // gradient) each chunk of heads reuses one cache-resident (T, T) scratch.
        let keepDS = bias?.requiresGrad ?? false
        let ds = Tensor(uninitialized: keepDS ? scoreShape : [0])
        let pg = rg.ptr, pgx = gqkv.ptr, pds = ds.ptr
        let px = rqkv.ptr, pp = probs.ptr
        Parallel.forEach(nb * heads, minChunk: Swift.max(1, 300_000 / Swift.max(perHead, 1))) { r in
            // Scratch: dS when not kept, then P rounded to `precision` (the values the forward
            // pass's second product read).
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: 2 * t * t)
            defer { buffer.deallocate() }
            for bh in r {
                let b = bh / heads, h = bh % heads
                let off = b * t * ld + h * d
                let q = px + off, k = q + c, v = q + 2 * c
                let gq = pgx + off, gk = gq + c, gv = gq + 2 * c
                let P = pp + bh * t * t, dS = keepDS ? pds + bh * t * t : buffer
                var RP = UnsafePointer(P)
                if precision != .fp32 && !bf {
                    precision.round(P, buffer + t * t, t * t)
                    RP = UnsafePointer(buffer + t * t)
                }
                let dO = pg + b * t * c + h * d
                // dV = P^T dO
                BLAS.gemmSmall(transA: true, transB: false, m: t, n: d, k: t, a: RP, lda: t, b: dO, ldb: c, c: gv, ldc: ld,
                               bf16: bf)
                // dP = dO V^T, then dS = P * (dP - rowsum(dP * P))
                BLAS.gemmSmall(transA: false, transB: true, m: t, n: t, k: d, a: dO, lda: c, b: v, ldb: ld, c: dS, ldc: t,
                               bf16: bf)
                adv_softmax_rows_backward(dS, P, dS, t, t)
                // Rounded for the products (the bf16 kernel rounds as it packs) and for the bias's gradient.
                if precision != .fp32 && (!bf || keepDS) { precision.round(dS, dS, t * t) }
                // dQ = scale dS K ; dK = scale dS^T Q
                BLAS.gemmSmall(transA: false, transB: false, m: t, n: d, k: t, alpha: scale, a: dS, lda: t, b: k, ldb: ld, c: gq, ldc: ld,
                               bf16: bf)
                BLAS.gemmSmall(transA: true, transB: false, m: t, n: d, k: t, alpha: scale, a: dS, lda: t, b: q, ldb: ld, c: gk, ldc: ld,
                               bf16: bf)
            }
        }
        if qkv.requiresGrad { qkv.addGrad(gqkv) }
        if let bias = bias, keepDS {
            // Sum the score gradients of the sequences sharing each bias group: each element adds
            // its sequences in sequence order, elements split over the threads (Swin-T at 224,
            // batch 16: 7M floats per stage-1 block, which one thread summed alone).
            let gb = Tensor(zeros: bias.shape)
            let per = heads * t * t, pgb = gb.ptr, total = groups * per
            Parallel.forEach(total, minChunk: Swift.max(256, 65536 * groups / Swift.max(nb, 1))) { r in
                for b in 0..<nb {
                    let gi = b % groups
                    let lo = Swift.max(r.lowerBound, gi * per), hi = Swift.min(r.upperBound, (gi + 1) * per)
                    if lo >= hi { continue }
                    let src = pds + b * per - gi * per
                    for i in lo..<hi { pgb[i] += src[i] }
                }
            }
            bias.addGrad(gb)
        }
    }
}
