// Max pooling on CKernels/pool2d.c (Tensor.maxPool2d): forward values and window choice, and the
// backward, against a plain reference loop (the first maximum of each window in row-major order,
// a NaN winning), with ties, NaNs, padding and strides; the same with any thread count.
import XCTest
@testable import Tensor

final class MaxPoolTests: XCTestCase {
    /// Reference: out and the input gradient for the output gradient g, one window at a time.
    func reference(_ x: Tensor, _ g: Tensor, k: Int, s: Int, pad: Int) -> ([Float], [Float]) {
        let planes = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3], ho = g.shape[2], wo = g.shape[3]
        var out = [Float](repeating: 0, count: planes * ho * wo), gx = [Float](repeating: 0, count: x.count)
        for p in 0..<planes {
            for oh in 0..<ho {
                for ow in 0..<wo {
                    var best = -Float.infinity, bi = -1
                    for ih in oh * s - pad..<oh * s - pad + k where ih >= 0 && ih < h {
                        for iw in ow * s - pad..<ow * s - pad + k where iw >= 0 && iw < w {
                            let v = x.ptr[p * h * w + ih * w + iw]
                            if v > best || bi < 0 || v.isNaN { best = v; bi = ih * w + iw }
                        }
                    }
                    let o = p * ho * wo + oh * wo + ow
                    out[o] = best
                    if bi >= 0 { gx[p * h * w + bi] += g.ptr[o] }
                }
            }
        }
        return (out, gx)
    }

    func testMatchesTheReferenceLoop() throws {
        for (shape, k, s, pad) in [([2, 3, 9, 11], 3, 2, 1), ([1, 2, 8, 8], 2, 2, 0), ([2, 2, 7, 7], 3, 1, 1), ([1, 1, 5, 6], 5, 3, 2)] {
            let x = Tensor.uniform(shape, low: -1, high: 1, rng: RNG(seed: 7))
            // Ties (values rounded to a coarse grid) and a few NaNs.
            for i in 0..<x.count { x.ptr[i] = (x.ptr[i] * 4).rounded() / 4 }
            x.ptr[5] = .nan
            x.ptr[x.count - 3] = .nan
            x.requiresGrad = true
            for threads in [1, 2] {
                try Backend.with({ $0.threads = threads }) {
                    x.grad = nil
                    let y = try x.maxPool2d(kernel: k, stride: s, padding: pad)
                    let g = Tensor.uniform(y.shape, low: -1, high: 1, rng: RNG(seed: 8))
                    try y.backward(seed: g)
                    let (out, gx) = reference(x, g, k: k, s: s, pad: pad)
                    let label = "\(shape) k\(k) s\(s) p\(pad), \(threads) threads"
                    XCTAssertEqual(y.count, out.count, label)
                    for i in 0..<out.count {
                        XCTAssertTrue(y.ptr[i] == out[i] || (y.ptr[i].isNaN && out[i].isNaN), "\(label): output \(i)")
                    }
                    XCTAssertEqual(Array(UnsafeBufferPointer(start: x.grad!.ptr, count: x.count)), gx, "\(label): gradient")
                    // Without a graph: the same values.
                    let z = try Autograd.noGrad { try x.maxPool2d(kernel: k, stride: s, padding: pad) }
                    for i in 0..<out.count { XCTAssertTrue(z.ptr[i] == y.ptr[i] || z.ptr[i].isNaN, "\(label): no-grad output \(i)") }
                }
            }
        }
    }
}
