// bf16 products over columns that run across a batch of images (adv_sgemm_bf16_images,
// BLAS.gemmImages, Conv+Images.swift): bit for bit the product of the gathered images, nothing
// outside the mapped columns written, and 1x1 convolutions over batched images equal to the same
// convolution image by image. Skipped on a CPU without AVX512-BF16.
import CKernels
import XCTest
@testable import Engine
@testable import Tensor

final class BF16ImagesTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(Backend.current.bf16, "the CPU has no AVX512-BF16 (or ADV_BF16=0): no bf16 kernel")
    }

    /// (images, rows of B / channels per image, hw) laid out (N, C, hw) with extra channels around
    /// the operand's, so reading or writing outside it shows.
    struct Layout {
        let n, rows, hw, pad: Int
        var image: Int { (rows + 2 * pad) * hw }
        var count: Int { n * image }
        func at(_ r: Int, _ j: Int) -> Int { (j / hw) * image + (pad + r) * hw + j % hw }
    }

    /// The kernel on mapped B and C, in column blocks from col0, against the gathered product
    /// (adv_sgemm_bf16 on the images side by side, scattered back): the same bits, and the cells
    /// outside C's mapped columns untouched. Sizes: hw 16 (groups of 16 within one image), 17 and
    /// 49 (groups across two images), K across the 384-wide blocks, beta 0 and 1, both A orders.
    func testMappedColumnsEqualTheGatheredProduct() {
        let rng = RNG(seed: 71)
        for (n, hw, m, k) in [(3, 16, 7, 5), (5, 17, 13, 64), (4, 49, 70, 400), (2, 196, 6, 33)] {
            for transA in [false, true] {
                for beta: Float in [0, 1] {
                    let lb = Layout(n: n, rows: k, hw: hw, pad: 1), lc = Layout(n: n, rows: m, hw: hw, pad: 2)
                    let a = Tensor.randn([m * k], rng: rng).toArray()
                    let b = Tensor.randn([lb.count], rng: rng).toArray()
                    let c0 = Tensor.randn([lc.count], rng: rng).toArray()
                    let cols = n * hw
                    // Gathered: B (k, cols), C (m, cols).
                    var bg = [Float](repeating: 0, count: k * cols), cg = [Float](repeating: 0, count: m * cols)
                    for r in 0..<k { for j in 0..<cols { bg[r * cols + j] = b[lb.at(r, j)] } }
                    for r in 0..<m { for j in 0..<cols { cg[r * cols + j] = c0[lc.at(r, j)] } }
                    let lda = transA ? m : k
                    XCTAssertEqual(adv_sgemm_bf16(transA ? 1 : 0, 0, m, cols, k, 1, a, lda, bg, cols, beta, &cg, cols), 1)
                    var c = c0
                    let split = cols / 3 + 1
                    b.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            for (j0, nj) in [(0, split), (split, cols - split)] {
                                XCTAssertEqual(adv_sgemm_bf16_images(transA ? 1 : 0, m, nj, k, 1, a, lda, pb.baseAddress! + lb.pad * hw, hw,
                                                                     hw, lb.image, beta, pc.baseAddress! + lc.pad * hw, hw, hw, lc.image, j0), 1)
                            }
                        }
                    }
                    var expect = c0
                    for r in 0..<m { for j in 0..<cols { expect[lc.at(r, j)] = cg[r * cols + j] } }
                    XCTAssertEqual(c.map(\.bitPattern), expect.map(\.bitPattern), "n \(n) hw \(hw) m \(m) k \(k) transA \(transA) beta \(beta)")
                }
            }
        }
    }

    /// BLAS.gemmImages (split over the threads) against its plain-loop reference: within fp32
    /// summation order of the same bf16-rounded products.
    func testGemmImagesMatchesTheReferenceLoops() {
        let rng = RNG(seed: 72)
        let (n, hw, m, k) = (6, 49, 300, 256)
        let lb = Layout(n: n, rows: k, hw: hw, pad: 0), lc = Layout(n: n, rows: m, hw: hw, pad: 0)
        let a = Tensor.randn([m * k], rng: rng), b = Tensor.randn([lb.count], rng: rng)
        let c = Tensor(zeros: [lc.count]), r = Tensor(zeros: [lc.count])
        XCTAssertTrue(BLAS.imagesDirect(m: m, n: n * hw, k: k, hw: hw))
        let bm = ImageColumns(base: b.ptr, ld: hw, hw: hw, image: lb.image)
        BLAS.gemmImages(transA: false, m: m, n: n * hw, k: k, a: a.ptr, lda: k, b: bm, beta: 0,
                        c: ImageColumns(base: c.ptr, ld: hw, hw: hw, image: lc.image))
        BLAS.referenceImages(transA: false, rows: 0..<m, cols: 0..<(n * hw), k: k, a: a.ptr, lda: k, b: bm, beta: 0,
                             c: ImageColumns(base: r.ptr, ld: hw, hw: hw, image: lc.image))
        let d = zip(c.toArray(), r.toArray()).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(d, 1e-3)
        XCTAssertFalse(BLAS.imagesDirect(m: m, n: n * 4, k: k, hw: 4), "fewer than 16 columns per image")
    }

    /// A 1x1 convolution over a batch whose images share one product (7x7 and 14x14 maps, with
    /// and without a bias) gives the bits of the same convolution image by image (where nothing is
    /// batched), forward and input gradient, with the weight frozen (the attack's backward) and
    /// with it trained (G gathered for the weight gradient); the weight gradient agrees up to
    /// summation order.
    func testBatchedPointwiseConvEqualsImageByImage() throws {
        let rng = RNG(seed: 73)
        for (n, c, o, h, withBias) in [(6, 32, 48, 7, false), (5, 24, 40, 14, true)] {
            let x = Tensor.randn([n, c, h, h], rng: rng), w = Tensor.randn([o, c, 1, 1], rng: rng)
            let bias = withBias ? Tensor.randn([o], rng: rng) : nil
            let gy = Tensor.randn([n, o, h, h], rng: rng)
            XCTAssertGreaterThan(Conv.imagesPerGemm(ConvGeometry(n: n, cin: c, h: h, w: h, cout: o, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0,
                                                                 groups: 1, ho: h, wo: h)), 1)
            for trainW in [false, true] {
                func run(_ xs: Tensor) throws -> (y: [Float], gx: [Float], gw: [Float]) {
                    xs.requiresGrad = true; xs.grad = nil
                    w.requiresGrad = trainW; w.grad = nil
                    let y = try Tensor.conv2d(xs, weight: w, bias: bias, precision: .bf16)
                    try y.mul(gy).sum().backward()
                    return (y.toArray(), xs.grad!.toArray(), w.grad?.toArray() ?? [])
                }
                let all = try run(x)
                var y1: [Float] = [], gx1: [Float] = [], gw1 = [Float](repeating: 0, count: trainW ? o * c : 0)
                for i in 0..<n {
                    let xi = try Tensor(shape: [1, c, h, h], data: Array(x.toArray()[(i * c * h * h)..<((i + 1) * c * h * h)]))
                    let gyi = gy.toArray()[(i * o * h * h)..<((i + 1) * o * h * h)]
                    xi.requiresGrad = true
                    w.requiresGrad = trainW; w.grad = nil
                    let y = try Tensor.conv2d(xi, weight: w, bias: bias, precision: .bf16)
                    try y.mul(try Tensor(shape: [1, o, h, h], data: Array(gyi))).sum().backward()
                    y1 += y.toArray(); gx1 += xi.grad!.toArray()
                    if trainW { for (q, v) in w.grad!.toArray().enumerated() { gw1[q] += v } }
                }
                XCTAssertEqual(all.y.map(\.bitPattern), y1.map(\.bitPattern), "forward, n \(n) h \(h)")
                XCTAssertEqual(all.gx.map(\.bitPattern), gx1.map(\.bitPattern), "input gradient, n \(n) h \(h) trainW \(trainW)")
                if trainW {
                    let d = zip(all.gw, gw1).map { abs($0 - $1) / (1 + abs($1)) }.max()!
                    XCTAssertLessThan(d, 1e-4, "weight gradient")
                }
            }
        }
    }
}
