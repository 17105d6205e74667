// GradientTools.allFinite: the vectorized scan finds a single inf or NaN anywhere (block edges
// included) and accepts the largest finite values.
import XCTest
@testable import Engine
@testable import Tensor

final class GradientToolsTests: XCTestCase {
    func testAllFiniteFindsOneBadValueAnywhere() {
        let n = 10_000
        let t = Tensor.randn([n], rng: RNG(seed: 1))
        XCTAssertTrue(GradientTools.allFinite(t.ptr, count: n))
        t.ptr[17] = .greatestFiniteMagnitude
        t.ptr[18] = -.greatestFiniteMagnitude
        t.ptr[19] = .leastNonzeroMagnitude
        XCTAssertTrue(GradientTools.allFinite(t.ptr, count: n))
        for bad in [Float.infinity, -.infinity, .nan, -.nan] {
            for k in [0, 4095, 4096, 8191, n - 1] {
                let saved = t.ptr[k]
                t.ptr[k] = bad
                XCTAssertFalse(GradientTools.allFinite(t.ptr, count: n), "\(bad) at \(k)")
                XCTAssertTrue(GradientTools.allFinite(t.ptr, count: k), "the values before \(k) are finite")
                t.ptr[k] = saved
            }
        }
        let p = NamedTensor("w", Tensor(zeros: [n]))
        p.tensor.grad = t
        XCTAssertTrue(GradientTools.allFinite([p]))
        t.ptr[5] = .nan
        XCTAssertFalse(GradientTools.allFinite([p]))
    }
}
