// BLAS.gemm splits large products across our threads (rows, columns or the inner dimension);
// every split and transpose combination must equal a naive product.
import XCTest
@testable import Engine
@testable import Tensor

final class GemmSplitTests: XCTestCase {
    func naive(_ tA: Bool, _ tB: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: [Float], _ b: [Float], alpha: Float, beta: Float, c: [Float]) -> [Float] {
        let ab = naiveProduct(tA, tB, m, n, k, a, lda: tA ? m : k, b, ldb: tB ? k : n)
        return (0..<(m * n)).map { alpha * Float(ab[$0]) + beta * c[$0] }
    }

    func testSplitsMatchNaive() {
        Backend.with({ $0.threads = 2 }) {
            // (m, n, k): row split, column split, inner split.
            for (m, n, k) in [(300, 40, 200), (20, 400, 300), (12, 10, 20000)] {
                for tA in [false, true] {
                    for tB in [false, true] {
                        let rng = RNG(seed: UInt64(m + n + k))
                        let a = (0..<(m * k)).map { _ in rng.uniform() - 0.5 }
                        let b = (0..<(k * n)).map { _ in rng.uniform() - 0.5 }
                        let c0 = (0..<(m * n)).map { _ in rng.uniform() }
                        let want = naive(tA, tB, m, n, k, a, b, alpha: 0.5, beta: 2, c: c0)
                        var c = c0
                        a.withUnsafeBufferPointer { pa in
                            b.withUnsafeBufferPointer { pb in
                                c.withUnsafeMutableBufferPointer { pc in
                                    BLAS.gemm(transA: tA, transB: tB, m: m, n: n, k: k, alpha: 0.5, a: pa.baseAddress!, lda: tA ? m : k,
                                              b: pb.baseAddress!, ldb: tB ? k : n, beta: 2, c: pc.baseAddress!, ldc: n)
                                }
                            }
                        }
                        var worst: Float = 0
                        for i in 0..<(m * n) { worst = Swift.max(worst, Swift.abs(c[i] - want[i])) }
                        XCTAssertLessThan(worst, 2e-3, "m \(m) n \(n) k \(k) transA \(tA) transB \(tB)")
                    }
                }
            }
        }
    }

    func testNestedLoopsRunSeriallyAndFlagIsPerThread() {
        Backend.with({ $0.threads = 2 }) {
            XCTAssertFalse(Parallel.inParallelRegion)
            let flags = Tensor(zeros: [2]), innerCalls = Tensor(zeros: [2])
            let pf = flags.ptr, pc = innerCalls.ptr
            Parallel.forEach(2, minChunk: 1) { r in
                let i = r.lowerBound
                pf[i] = Parallel.inParallelRegion ? 1 : 0
                Parallel.forEach(1000, minChunk: 1) { _ in pc[i] += 1 }
            }
            XCTAssertEqual(flags.toArray(), [1, 1])
            XCTAssertEqual(innerCalls.toArray(), [1, 1], "a nested loop runs as one serial chunk")
            XCTAssertFalse(Parallel.inParallelRegion)
        }
    }
}
