// bf16 products whose columns run across a batch of images, for 1x1 stride-1 convolutions.
//
// On small maps Conv.swift batches several images into one product (`Conv.imagesPerGemm`), which
// in fp32 means gathering the images' planes side by side (`Conv.pack`) and scattering the
// product back (`Conv.unpack`). With the AVX512-BF16 product (CKernels/bf16gemm.c) the kernel
// reads x and writes the output in (N, C, H, W) directly (`adv_sgemm_bf16_images`): column j of
// the product is pixel j % hw of image j / hw. The values are the gathered product's, bit for bit:
// each column's sum runs over the same pairs in the same order, and the product is split over
// the threads exactly as `BLAS.gemm` splits it.
import CKernels

/// One operand's columns: plain (column j at base + j, rows ld apart) or across images
/// (column j at base + (j / hw) * image + j % hw).
struct ImageColumns {
    let base: UnsafeMutablePointer<Float>
    let ld: Int
    /// 0: plain columns.
    let hw: Int
    let image: Int

    static func plain(_ p: UnsafeMutablePointer<Float>, ld: Int) -> ImageColumns { ImageColumns(base: p, ld: ld, hw: 0, image: 0) }
}

extension BLAS {
    /// Whether `gemmImages` runs this product as `gemm(bf16: true)` would, with its columns mapped:
    /// the AVX512-BF16 kernel is on, each image has at least 16 columns, and `gemm` would not split
    /// the inner dimension (the tall-skinny case, whose partial sums `gemmImages` does not make).
    static func imagesDirect(m: Int, n: Int, k: Int, hw: Int) -> Bool {
        guard Backend.current.bf16, adv_has_bf16() != 0, hw >= 16, m > 0, n > 0, k > 0 else { return false }
        let work = Double(m) * Double(n) * Double(k)
        let tallSkinny = work >= 2_000_000 && !(m >= n / 4 && blocks(m, work: work) > 1) && blocks(n, work: work) <= 1
            && m < 96 && n < 96 && k >= 128
        return !tallSkinny
    }

    /// C (m x n) = op(A) B + beta C in bf16 (fp32 accumulation) with B's and C's columns mapped
    /// (`ImageColumns`); split over the threads as `gemm` splits it. Call only where
    /// `imagesDirect` holds.
    static func gemmImages(transA: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: ImageColumns,
                           beta: Float, c: ImageColumns) {
        let work = Double(m) * Double(n) * Double(k)
        var rowBlocks = 1, colBlocks = 1
        if work >= 2_000_000 {
            rowBlocks = m >= n / 4 ? blocks(m, work: work) : 1
            if rowBlocks <= 1 { colBlocks = blocks(n, work: work) }
        }
        let parts = Swift.max(rowBlocks, colBlocks)
        let per = ((rowBlocks > 1 ? m : n) + parts - 1) / parts
        Parallel.forEach(parts, minChunk: 1) { r in
            for p in r {
                var (i0, mi, j0, nj) = (0, m, 0, n)
                if rowBlocks > 1 { i0 = p * per; mi = Swift.min(per, m - i0) } else if colBlocks > 1 { j0 = p * per; nj = Swift.min(per, n - j0) }
                if mi <= 0 || nj <= 0 { continue }
                let ap = transA ? a + i0 : a + i0 * lda
                let cp = c.base + i0 * c.ld
                if adv_sgemm_bf16_images(transA ? 1 : 0, mi, nj, k, 1, ap, lda, b.base, b.ld, b.hw, b.image, beta,
                                         cp, c.ld, c.hw, c.image, j0) == 0 {
                    // Only without packing memory: the same product one value at a time.
                    referenceImages(transA: transA, rows: i0..<(i0 + mi), cols: j0..<(j0 + nj), k: k, a: a, lda: lda, b: b,
                                    beta: beta, c: c)
                }
            }
        }
    }

    /// Column j of a mapped operand, at row 0.
    @inline(__always) static func column(_ o: ImageColumns, _ j: Int) -> UnsafeMutablePointer<Float> {
        o.hw == 0 ? o.base + j : o.base + (j / o.hw) * o.image + j % o.hw
    }

    /// `gemmImages` as plain loops (operands rounded to bf16, fp32 sums): the path when the
    /// kernel has no packing memory, and the reference of its tests.
    static func referenceImages(transA: Bool, rows: Range<Int>, cols: Range<Int>, k: Int, a: UnsafePointer<Float>, lda: Int,
                                b: ImageColumns, beta: Float, c: ImageColumns) {
        for i in rows {
            for j in cols {
                let bj = column(b, j), cj = column(c, j) + i * c.ld
                var s: Float = 0
                for q in 0..<k {
                    let av = transA ? a[q * lda + i] : a[i * lda + q]
                    s += Precision.bf16Round(av) * Precision.bf16Round(bj[q * b.ld])
                }
                cj.pointee = beta == 0 ? s : s + beta * cj.pointee
            }
        }
    }
}
