// permute's two paths (Tensor+Shape.swift): the batched transpose (CKernels/transpose.c) for
// permutations that swap two blocks of trailing dims, and the strided gather for the rest. Both
// against an index loop, value for value, forward and backward, over every permutation of
// ranks 2 to 4 with sizes off the 8 x 8 tile.
import XCTest
@testable import Tensor

final class PermuteTests: XCTestCase {
    /// out[i] = x[the source index of i] for dims reordered by d, by explicit index arithmetic.
    static func reference(_ x: [Float], _ shape: [Int], _ d: [Int]) -> [Float] {
        let outShape = d.map { shape[$0] }
        let st = Strided.strides(shape)
        var out = [Float](repeating: 0, count: x.count)
        for i in 0..<x.count {
            var rem = i, src = 0
            for a in stride(from: outShape.count - 1, through: 0, by: -1) {
                src += (rem % outShape[a]) * st[d[a]]
                rem /= outShape[a]
            }
            out[i] = x[src]
        }
        return out
    }

    static func permutations(_ n: Int) -> [[Int]] {
        if n == 1 { return [[0]] }
        return permutations(n - 1).flatMap { p in (0...p.count).map { i in var q = p; q.insert(n - 1, at: i); return q } }
    }

    func testEveryPermutationEqualsTheIndexLoop() throws {
        for shape in [[9, 17], [3, 5, 19], [2, 16, 9, 7], [3, 1, 5, 11]] {
            let x = Tensor.randn(shape, rng: RNG(seed: 7))
            let values = Array(UnsafeBufferPointer(start: x.ptr, count: x.count))
            for d in PermuteTests.permutations(shape.count) {
                for threads in [1, 2] {
                    try Backend.with({ $0.threads = threads }) {
                        let leaf = x.copy()
                        leaf.requiresGrad = true
                        let y = try leaf.permute(d)
                        XCTAssertEqual(y.shape, d.map { shape[$0] })
                        XCTAssertEqual(Array(UnsafeBufferPointer(start: y.ptr, count: y.count)),
                                       PermuteTests.reference(values, shape, d), "permute \(d) of \(shape)")
                        // backward: the gradient of sum(y * r) is r permuted back
                        let r = Tensor.randn(y.shape, rng: RNG(seed: 3))
                        try y.mul(r).sum().backward()
                        var inv = [Int](repeating: 0, count: d.count)
                        for (i, a) in d.enumerated() { inv[a] = i }
                        let rv = Array(UnsafeBufferPointer(start: r.ptr, count: r.count))
                        XCTAssertEqual(Array(UnsafeBufferPointer(start: leaf.grad!.ptr, count: x.count)),
                                       PermuteTests.reference(rv, y.shape, inv), "permute \(d) of \(shape), backward")
                    }
                }
            }
        }
    }

    func testBlockSwapClassifiesTheTransposes() {
        XCTAssertEqual(Tensor.blockSwap([2, 3, 4, 5], [0, 2, 3, 1]).map { [$0.0, $0.1, $0.2] }, [2, 3, 20])  // NCHW -> NHWC
        XCTAssertEqual(Tensor.blockSwap([2, 4, 5, 3], [0, 3, 1, 2]).map { [$0.0, $0.1, $0.2] }, [2, 20, 3])  // NHWC -> NCHW
        XCTAssertEqual(Tensor.blockSwap([2, 3, 4, 5], [0, 1, 3, 2]).map { [$0.0, $0.1, $0.2] }, [6, 4, 5])
        XCTAssertEqual(Tensor.blockSwap([3, 4], [1, 0]).map { [$0.0, $0.1, $0.2] }, [1, 3, 4])
        XCTAssertNil(Tensor.blockSwap([2, 3, 4, 5], [0, 3, 2, 1]))
        XCTAssertEqual(Tensor.blockSwap([2, 3, 4], [2, 0, 1]).map { [$0.0, $0.1, $0.2] }, [1, 6, 4])
        XCTAssertNil(Tensor.blockSwap([2, 3, 4], [1, 0, 2]))  // the leading dims swapped: the gather
    }
}
