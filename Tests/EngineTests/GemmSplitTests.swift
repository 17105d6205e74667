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

    /// One product computed through BLAS.gemm with `threads` threads, from the top level or from
    /// inside a parallel loop (as a model's loops call it).
    func product(_ tA: Bool, _ tB: Bool, _ m: Int, _ n: Int, _ k: Int, threads: Int, nested: Bool) -> [Float] {
        let rng = RNG(seed: UInt64(7 * m + 5 * n + k))
        let a = (0..<(m * k)).map { _ in rng.uniform() - 0.5 }
        let b = (0..<(k * n)).map { _ in rng.uniform() - 0.5 }
        let pa = UnsafeMutablePointer<Float>.allocate(capacity: a.count), pb = UnsafeMutablePointer<Float>.allocate(capacity: b.count)
        let pc = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { pa.deallocate(); pb.deallocate(); pc.deallocate() }
        pa.initialize(from: a, count: a.count); pb.initialize(from: b, count: b.count)
        pc.initialize(repeating: 0, count: m * n)
        Backend.with({ $0.threads = threads }) {
            let run = {
                BLAS.gemm(transA: tA, transB: tB, m: m, n: n, k: k, a: pa, lda: tA ? m : k, b: pb, ldb: tB ? k : n, c: pc, ldc: n)
            }
            if nested { Parallel.forEach(threads, minChunk: 1) { r in if r.lowerBound == 0 { run() } } } else { run() }
        }
        let c = Array(UnsafeBufferPointer(start: pc, count: m * n))
        return c
    }

    /// The split of a product depends on its shape only (docs/architecture.md, "Determinism"):
    /// the same bits with 1, 2 or 3 threads, at the top level or inside a parallel loop. OpenBLAS
    /// itself gives different bits for different splits, so a split that followed the thread
    /// count fails this.
    func testProductsDoNotDependOnThreadsOrNesting() {
        let shapes = [(4096, 384, 96), (384, 96, 4096), (96, 4096, 384), (1576, 1152, 384), (160, 40, 4096),
                      (40, 160, 4096), (40, 40, 4096), (2000, 33, 100), (20, 400, 300), (12, 10, 20000), (100, 100, 300)]
        for (m, n, k) in shapes {
            for (tA, tB) in [(false, false), (true, false), (false, true)] {
                let want = product(tA, tB, m, n, k, threads: 1, nested: false)
                for (threads, nested) in [(2, false), (3, false), (2, true), (3, true), (1, true)] {
                    let got = product(tA, tB, m, n, k, threads: threads, nested: nested)
                    XCTAssert(got == want, "m \(m) n \(n) k \(k) transA \(tA) transB \(tB): \(threads) threads, nested \(nested) differs from 1 thread")
                }
            }
        }
    }

    func testPartsArePowersOfTwoFromTheSizeOnly() {
        XCTAssertEqual(Parallel.parts(10, quantum: 32), 1)
        XCTAssertEqual(Parallel.parts(96, quantum: 32), 2, "3 parts round down to 2")
        XCTAssertEqual(Parallel.parts(7 * 32, quantum: 32), 4)
        XCTAssertEqual(Parallel.parts(1 << 20, quantum: 32), 8, "at most maxParts (8)")
        XCTAssertEqual(Parallel.parts(1 << 20, quantum: 32, maxParts: 6), 4)
        for t in 1...4 { Backend.with({ $0.threads = t }) { XCTAssertEqual(Parallel.parts(500, quantum: 32), 8) } }
        // Row/column blocks of a product: at least 256 rows where possible, 2 to 8, about 1M
        // multiply-adds each.
        XCTAssertEqual(BLAS.blocks(95, work: 1e8), 1)
        XCTAssertEqual(BLAS.blocks(96, work: 1e8), 2)
        XCTAssertEqual(BLAS.blocks(1000, work: 1e8), 2)
        XCTAssertEqual(BLAS.blocks(1576, work: 1e8), 4)
        XCTAssertEqual(BLAS.blocks(4096, work: 1e9), 8)
        XCTAssertEqual(BLAS.blocks(4096, work: 3e6), 2)
    }
}
