// Matrix products on OpenBLAS sgemm: matmul (batched, broadcasting) and linear.
// a: (..., M, K), b: (..., K, N) or (K, N) -> (..., M, N)
import CBLAS
import CKernels

/// Thin wrappers over cblas_sgemm (row-major).
///
/// Large products are split across our own threads, each running single-threaded OpenBLAS on
/// its block of rows or columns (or of the inner dimension, for tall-skinny weight gradients,
/// with the partial sums added afterwards). OpenBLAS's own threads are never used (see
/// Parallel.swift): they spin long after each call and competed with ours for the cores.
enum BLAS {
    /// C (M x N) = alpha * op(A) op(B) + beta * C, row-major, leading dims given.
    /// - Parameter bf16: the product is at precision bf16: with `Backend.current.bf16` the
    ///   AVX512-BF16 kernel (CKernels/bf16gemm.c) rounds the inputs as it packs them (callers skip
    ///   rounding, see `productRounding`); otherwise the inputs were rounded by the caller and go
    ///   through sgemm. fp32 accumulation either way.
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                     alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                     c: UnsafeMutablePointer<Float>, ldc: Int, bf16: Bool = false) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m {
                let row = c + i * ldc
                if beta == 0 { row.update(repeating: 0, count: n) } else { for j in 0..<n { row[j] *= beta } }
            }
            return
        }
        // The split depends on the shape only (`blocks`, Parallel.parts), never on the thread count or on
        // whether we are inside a parallel loop (then the parts run one after another), so the
        // result is the same with any number of threads (docs/architecture.md, "Determinism").
        // Row and column blocks keep at least 48 rows and ~1M multiply-adds each.
        let work = Double(m) * Double(n) * Double(k)
        if work >= 2_000_000 {
            let rowBlocks = m >= n / 4 ? blocks(m, work: work) : 1
            if rowBlocks > 1 {
                // Split the rows of C (and of op(A)).
                split(m, rowBlocks) { i0, cnt in
                    let ap = transA ? a + i0 : a + i0 * lda
                    raw(transA, transB, cnt, n, k, alpha, ap, lda, b, ldb, beta, c + i0 * ldc, ldc, bf16)
                }
                return
            }
            let colBlocks = blocks(n, work: work)
            if colBlocks > 1 {
                // Split the columns of C (and of op(B)).
                split(n, colBlocks) { j0, cnt in
                    let bp = transB ? b + j0 * ldb : b + j0
                    raw(transA, transB, m, cnt, k, alpha, a, lda, bp, ldb, beta, c + j0, ldc, bf16)
                }
                return
            }
            if m < 96 && n < 96 && k >= 128 {
                // Tall-skinny: split the inner dimension into private partial products, added in
                // part order.
                let t = Parallel.parts(k, quantum: 64, maxParts: 8)
                let parts = UnsafeMutablePointer<Float>.allocate(capacity: t * m * n)
                defer { parts.deallocate() }
                let per = (k + t - 1) / t
                Parallel.forEach(t, minChunk: 1) { r in
                    for p in r {
                        let k0 = p * per, kc = Swift.min(per, k - k0)
                        let dst = parts + p * m * n
                        if kc <= 0 { dst.update(repeating: 0, count: m * n); continue }
                        let ap = transA ? a + k0 * lda : a + k0
                        let bp = transB ? b + k0 : b + k0 * ldb
                        raw(transA, transB, m, n, kc, alpha, ap, lda, bp, ldb, 0, dst, n, bf16)
                    }
                }
                for i in 0..<m {
                    let row = c + i * ldc
                    for j in 0..<n {
                        var s: Float = beta == 0 ? 0 : beta * row[j]
                        for p in 0..<t { s += parts[p * m * n + i * n + j] }
                        row[j] = s
                    }
                }
                return
            }
        }
        raw(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bf16)
    }

    /// The rounding an op must apply to inputs that only feed `gemm(bf16: precision == .bf16)`:
    /// none for bf16 when the AVX512-BF16 kernel runs, since it rounds to nearest even as it packs
    /// (and `raw` rounds copies itself if the kernel declines); `precision` otherwise.
    static func productRounding(_ precision: Precision) -> Precision {
        precision == .bf16 && Backend.current.bf16 ? .fp32 : precision
    }

    /// `gemm` for small single-threaded products (attention's per-head products, called inside a
    /// parallel loop): our register-blocked kernel without packing (smallgemm.c) where the CPU has
    /// AVX-512, beta is 0 or 1 and `isSmall` holds, otherwise OpenBLAS (see `Backend.avx512`).
    /// With `bf16` (only where `Backend.current.bf16`: attention's products at precision bf16) the
    /// AVX512-BF16 kernel, unsplit, which rounds the inputs as it packs them (the callers leave the
    /// rounding to it; if it declines, rounded copies go through sgemm).
    static func gemmSmall(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                          alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                          b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                          c: UnsafeMutablePointer<Float>, ldc: Int, bf16: Bool = false) {
        if bf16 && m > 0 && n > 0 && k > 0 {
            if adv_sgemm_bf16(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) != 0 { return }
            let ra = roundedCopy(a, rows: transA ? k : m, cols: transA ? m : k, ld: lda)
            let rb = roundedCopy(b, rows: transB ? n : k, cols: transB ? k : n, ld: ldb)
            defer { ra.deallocate(); rb.deallocate() }
            gemmSmall(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: ra, lda: lda, b: rb, ldb: ldb,
                      beta: beta, c: c, ldc: ldc)
            return
        }
        if isSmall(m, n, k) && adv_sgemm_small(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) != 0 {
            return
        }
        gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
             beta: beta, c: c, ldc: ldc)
    }

    /// Whether a product goes to the small-product kernel: an inner dimension of at most 512 (a
    /// 64-column panel of op(B) then stays in L2). The shape alone decides, so the choice is the
    /// same at any thread count (docs/architecture.md, "Determinism"). (Attention asks too, for
    /// its fused loop.)
    static func isSmall(_ m: Int, _ n: Int, _ k: Int) -> Bool {
        k <= 512
    }

    /// C (m x n) = alpha * op(A) op(B) + D, where D has row stride ldd (0: one row added to every
    /// row of C): `gemmSmall` with the addend read in place (attention's bias) instead of copied
    /// into C first. The fallback copies D into C and runs gemm with beta 1.
    static func gemmSmallAdd(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int, d: UnsafePointer<Float>, ldd: Int,
                             c: UnsafeMutablePointer<Float>, ldc: Int, bf16: Bool = false) {
        if !bf16 && isSmall(m, n, k) && adv_sgemm_small_add(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, d, ldd, c, ldc) != 0 {
            return
        }
        for i in 0..<m { (c + i * ldc).update(from: d + i * ldd, count: n) }
        if bf16 {
            gemmSmall(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                      beta: 1, c: c, ldc: ldc, bf16: true)
            return
        }
        gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
             beta: 1, c: c, ldc: ldc)
    }

    /// How many blocks a row (or column) split of a product makes, from its shape only: a power of
    /// two from 2 to 8, blocks of at least 256 rows where there are enough (each block packs the
    /// whole other operand again, which costs about 5 / rows of the product's time: 2% at 256),
    /// at least 48 rows and about 1M multiply-adds each; 1 (no split) below 96 rows.
    static func blocks(_ size: Int, work: Double) -> Int {
        guard size >= 96 else { return 1 }
        var p = Swift.max(2, Parallel.parts(size, quantum: 256, maxParts: 8))
        while p > 1 && work / Double(p) < 1_000_000 { p /= 2 }
        return p
    }

    /// Runs `body(start, count)` over `t` blocks of 0..<total on the pool (one single-threaded
    /// sgemm per block; the blocks are the same with any number of threads).
    private static func split(_ total: Int, _ t: Int, _ body: (Int, Int) -> Void) {
        let per = (total + t - 1) / t
        Parallel.forEach(t, minChunk: 1) { r in
            for p in r {
                let s = p * per, cnt = Swift.min(per, total - s)
                if cnt > 0 { body(s, cnt) }
            }
        }
    }

    /// A bf16-rounded copy of a row-major (rows x cols) matrix with leading dimension ld.
    private static func roundedCopy(_ p: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int) -> UnsafeMutablePointer<Float> {
        let q = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, (rows - 1) * ld + cols))
        for i in 0..<rows { adv_round_bf16(p + i * ld, q + i * ld, cols) }
        return q
    }

    @inline(__always)
    private static func raw(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                            _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float,
                            _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ bf16: Bool) {
        if bf16 {
            if adv_sgemm_bf16(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) != 0 { return }
            if Backend.current.bf16 {
                // The kernel declined (no memory for its packing) and the caller left rounding to it.
                let ra = roundedCopy(a, rows: transA ? k : m, cols: transA ? m : k, ld: lda)
                let rb = roundedCopy(b, rows: transB ? n : k, cols: transB ? k : n, ld: ldb)
                defer { ra.deallocate(); rb.deallocate() }
                cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                            Int32(m), Int32(n), Int32(k), alpha, ra, Int32(lda), rb, Int32(ldb), beta, c, Int32(ldc))
                return
            }
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

extension Tensor {
    /// Matrix product with batch broadcasting; inputs rounded to `precision`, fp32 accumulation.
    /// - Parameters:
    ///   - a: (..., M, K)
    ///   - b: (..., K, N) or (K, N)
    ///   - precision: rounding of the inputs (default `Precision.current`).
    public static func matmul(_ a: Tensor, _ b: Tensor, precision: Precision = .current) throws -> Tensor {
        guard a.rank >= 2, b.rank >= 2 else {
            throw EngineError.shape("matmul: needs at least 2-d operands, got \(a.shape) and \(b.shape)")
        }
        let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1]
        let k2 = b.shape[b.rank - 2], n = b.shape[b.rank - 1]
        guard k == k2 else {
            throw EngineError.shape("matmul: inner dimensions differ: \(a.shape) @ \(b.shape)")
        }
        // The bf16 kernel rounds while it packs: rounding first would be a wasted pass (BLAS.productRounding).
        let rounding = BLAS.productRounding(precision)
        let ra = rounding.rounded(a), rb = rounding.rounded(b)
        if b.rank == 2 {
            // Fold a's batch into M: one sgemm.
            let rows = a.count / Swift.max(k, 1)
            let outShape = Array(a.shape.dropLast()) + [n]
            try Tensor.checkSize(outShape, "matmul of \(a.shape) and \(b.shape)")
            let out = Tensor(uninitialized: outShape)
            BLAS.gemm(transA: false, transB: false, m: rows, n: n, k: k, a: ra.ptr, lda: k, b: rb.ptr, ldb: n, c: out.ptr, ldc: n, bf16: precision == .bf16)
            out.record([a, b]) { g in Tensor.matmulBackward2D(g, a, b, ra: ra, rb: rb, precision: precision) }
            return out
        }
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        let batch = try Strided.broadcastShape(batchA, batchB, op: "matmul (batch dims of \(a.shape) and \(b.shape))")
        for s in [batch + [m, n], batch + [m, k], batch + [k, n]] {
            try Tensor.checkSize(s, "matmul of \(a.shape) and \(b.shape)")
        }
        let ea = ra.expandedRaw(batch + [m, k]), eb = rb.expandedRaw(batch + [k, n])
        let nb = batch.reduce(1, *)
        let out = Tensor(uninitialized: batch + [m, n])
        for i in 0..<nb {
            BLAS.gemm(transA: false, transB: false, m: m, n: n, k: k, a: ea.ptr + i * m * k, lda: k,
                      b: eb.ptr + i * k * n, ldb: n, c: out.ptr + i * m * n, ldc: n, bf16: precision == .bf16)
        }
        out.record([a, b]) { g in Tensor.matmulBackwardBatched(g, a, b, ea: ea, eb: eb, precision: precision) }
        return out
    }

    /// The gradients of `matmul` with a 2-D b (a's batch folded into M), products on the
    /// rounded inputs: da = g b^T, db = a^T g.
    /// - Parameters:
    ///   - g: (..., M, N) the output gradient
    ///   - a: (..., M, K), b: (K, N): the inputs, which receive the gradients
    ///   - ra, rb: a and b rounded to `precision` (what the forward product read)
    static func matmulBackward2D(_ g: Tensor, _ a: Tensor, _ b: Tensor, ra: Tensor, rb: Tensor, precision: Precision) {
        let k = b.shape[0], n = b.shape[1], rows = a.count / Swift.max(k, 1)
        let rg = BLAS.productRounding(precision).rounded(g)
        if a.requiresGrad {
            // da (rows, K) = g (rows, N) x b^T (N, K)
            let ga = Tensor(uninitialized: a.shape)
            BLAS.gemm(transA: false, transB: true, m: rows, n: k, k: n, a: rg.ptr, lda: n, b: rb.ptr, ldb: n, c: ga.ptr, ldc: k, bf16: precision == .bf16)
            a.addGrad(ga)
        }
        if b.requiresGrad {
            // db (K, N) = a^T (K, rows) x g (rows, N)
            let gb = Tensor(uninitialized: b.shape)
            BLAS.gemm(transA: true, transB: false, m: k, n: n, k: rows, a: ra.ptr, lda: k, b: rg.ptr, ldb: n, c: gb.ptr, ldc: n, bf16: precision == .bf16)
            b.addGrad(gb)
        }
    }

    /// The gradients of a batched `matmul`: per batch entry da = g b^T and db = a^T g, then summed
    /// over the dimensions each input was broadcast along.
    /// - Parameters:
    ///   - g: (batch..., M, N) the output gradient
    ///   - a: (..., M, K), b: (..., K, N): the inputs, which receive the gradients
    ///   - ea, eb: the rounded inputs broadcast to (batch..., M, K) and (batch..., K, N)
    static func matmulBackwardBatched(_ g: Tensor, _ a: Tensor, _ b: Tensor, ea: Tensor, eb: Tensor, precision: Precision) {
        let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1], n = b.shape[b.rank - 1]
        let batch = Array(g.shape.dropLast(2))
        let nb = batch.reduce(1, *)
        let rg = BLAS.productRounding(precision).rounded(g)
        if a.requiresGrad {
            let ga = Tensor(uninitialized: batch + [m, k])
            for i in 0..<nb {
                BLAS.gemm(transA: false, transB: true, m: m, n: k, k: n, a: rg.ptr + i * m * n, lda: n,
                          b: eb.ptr + i * k * n, ldb: n, c: ga.ptr + i * m * k, ldc: k, bf16: precision == .bf16)
            }
            a.addGrad(Tensor.reduceTo(ga, a.shape))
        }
        if b.requiresGrad {
            let gb = Tensor(uninitialized: batch + [k, n])
            for i in 0..<nb {
                BLAS.gemm(transA: true, transB: false, m: k, n: n, k: m, a: ea.ptr + i * m * k, lda: k,
                          b: rg.ptr + i * m * n, ldb: n, c: gb.ptr + i * k * n, ldc: n, bf16: precision == .bf16)
            }
            b.addGrad(Tensor.reduceTo(gb, b.shape))
        }
    }

    /// Fully connected layer y = x W^T + b (PyTorch layout).
    /// - Parameters:
    ///   - x: (..., In)
    ///   - weight: (Out, In)
    ///   - bias: (Out) or nil
    ///   - precision: rounding of x and W (default `Precision.current`).
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, precision: Precision = .current) throws -> Tensor {
        guard x.rank >= 1, weight.rank == 2, x.shape[x.rank - 1] == weight.shape[1] else {
            throw EngineError.shape("linear: input \(x.shape) does not fit weight \(weight.shape) (needs (..., \(weight.rank == 2 ? weight.shape[1] : 0)) and (Out, In))")
        }
        let inF = weight.shape[1], outF = weight.shape[0]
        if let b = bias, b.shape != [outF] {
            throw EngineError.shape("linear: bias \(b.shape) does not fit weight \(weight.shape)")
        }
        let rows = x.count / Swift.max(inF, 1)
        let rounding = BLAS.productRounding(precision)
        let rx = rounding.rounded(x), rw = rounding.rounded(weight)
        let out = Tensor(uninitialized: Array(x.shape.dropLast()) + [outF])
        let po = out.ptr
        if let b = bias {
            // The bias in every row, then the product added on top (beta 1); rows over threads.
            let pb = b.ptr
            Parallel.forEach(rows, minChunk: Swift.max(1, 16384 / Swift.max(outF, 1))) { r in
                for i in r { (po + i * outF).update(from: pb, count: outF) }
            }
        }
        BLAS.gemm(transA: false, transB: true, m: rows, n: outF, k: inF, a: rx.ptr, lda: inF, b: rw.ptr, ldb: inF,
                  beta: bias == nil ? 0 : 1, c: po, ldc: outF, bf16: precision == .bf16)
        var inputs = [x, weight]
        if let b = bias { inputs.append(b) }
        out.record(inputs) { g in Tensor.linearBackward(g, x, weight: weight, bias: bias, rx: rx, rw: rw, precision: precision) }
        return out
    }

    /// The gradients of `linear`, products on the rounded inputs: dx = g W, dW = g^T x,
    /// db = g summed over the rows.
    /// - Parameters:
    ///   - g: (..., Out) the output gradient
    ///   - x: (..., In), weight: (Out, In), bias: (Out) or nil: the inputs, which receive the gradients
    ///   - rx, rw: x and weight rounded to `precision` (what the forward product read)
    static func linearBackward(_ g: Tensor, _ x: Tensor, weight: Tensor, bias: Tensor?, rx: Tensor, rw: Tensor, precision: Precision) {
        let inF = weight.shape[1], outF = weight.shape[0]
        let rows = x.count / Swift.max(inF, 1)
        let rg = BLAS.productRounding(precision).rounded(g)
        if x.requiresGrad {
            // dx (rows, In) = g (rows, Out) x W (Out, In)
            let gx = Tensor(uninitialized: x.shape)
            BLAS.gemm(transA: false, transB: false, m: rows, n: inF, k: outF, a: rg.ptr, lda: outF, b: rw.ptr, ldb: inF, c: gx.ptr, ldc: inF, bf16: precision == .bf16)
            x.addGrad(gx)
        }
        if weight.requiresGrad {
            // dW (Out, In) = g^T (Out, rows) x x (rows, In)
            let gw = Tensor(uninitialized: weight.shape)
            BLAS.gemm(transA: true, transB: false, m: outF, n: inF, k: rows, a: rg.ptr, lda: outF, b: rx.ptr, ldb: inF, c: gw.ptr, ldc: inF, bf16: precision == .bf16)
            weight.addGrad(gw)
        }
        if let b = bias, b.requiresGrad {
            // db (Out) = sum over rows of g
            let gb = Tensor(zeros: [outF])
            let pg = g.ptr, pgb = gb.ptr
            // Column blocks over threads, each summing its columns over the rows in order
            // (the same order as one thread would).
            let blocks = (outF + 15) / 16
            Parallel.forEach(blocks, minChunk: Swift.max(1, blocks * 16384 / Swift.max(rows * outF, 1))) { r in
                let j0 = r.lowerBound * 16, j1 = Swift.min(outF, r.upperBound * 16)
                for i in 0..<rows {
                    let row = pg + i * outF
                    for j in j0..<j1 { pgb[j] += row[j] }
                }
            }
            b.addGrad(gb)
        }
    }
}
