// FAB's L-inf projection in C (CKernels/fabprojection.c) against the Swift loop it replaced,
// kept here as the reference: the same move bit for bit, on rows shaped like FAB-T's (images
// with many pixels at 0 or 1, so many ties in the coordinate order), unreachable planes and
// zero normals included.
import XCTest
@testable import Engine
@testable import Tensor

final class FABProjectionTests: XCTestCase {
    /// The Swift L-inf projection as it was before the C port (with the stable comparison sort).
    enum Reference {
        static func linf(_ t: UnsafePointer<Float>, _ w0: UnsafePointer<Float>, _ b0: Float, _ dim: Int) -> [Float] {
            // Orient so that the point lies on the positive side: w . t - b >= 0, we must lower w . x.
            var dot: Float = 0
            for i in 0..<dim { dot += w0[i] * t[i] }
            let sign: Float = dot - b0 >= 0 ? 1 : -1
            var d = [Float](repeating: 0, count: dim), p = [Float](repeating: 0, count: dim)
            var aw = [Float](repeating: 0, count: dim)
            var reach: Float = 0   // w . d at full box moves (<= 0)
            for i in 0..<dim {
                let w = w0[i] * sign
                aw[i] = abs(w)
                if w < 0 { p[i] = 1 - t[i]; d[i] = w != 0 ? 1 - t[i] : 0 } else { p[i] = t[i]; d[i] = w != 0 ? -t[i] : 0 }
                reach += w * d[i]
            }
            let need = sign * b0 - sign * dot   // required change of w . x (<= 0)
            guard need - reach > 0 else { return d }   // not reachable inside the box: the corner
            // Coordinates by room, largest first; lambda in [p_(k+1), p_(k)] leaves 0...k unsaturated.
            let order = (0..<dim).sorted { p[$0] > p[$1] }
            var saturated: Float = 0   // sum of |w| p over the saturated coordinates (k+1...)
            for i in 0..<dim { saturated += aw[i] * p[i] }
            var free: Float = 0
            var lambda: Float = 0
            for (k, i) in order.enumerated() {
                free += aw[i]
                saturated -= aw[i] * p[i]
                let next: Float = k + 1 < dim ? p[order[k + 1]] : 0
                // at lambda = next the change is -(free * next + saturated)
                if -(free * next + saturated) >= need || k + 1 == dim {
                    lambda = free > 0 ? max((-need - saturated) / free, 0) : 0
                    break
                }
            }
            for i in 0..<dim where aw[i] != 0 {
                let w = w0[i] * sign
                d[i] = w < 0 ? min(lambda, d[i]) : max(-lambda, d[i])
            }
            return d
        }
    }

    func testLinfMatchesTheSwiftLoopBitForBit() {
        let rng = RNG(seed: 19)
        for trial in 0..<60 {
            let dim = [1, 3, 16, 100, 1024][trial % 5]
            // pixels: a third at 0, a sixth at 1, the rest random (ties in the room p)
            let t = (0..<dim).map { _ -> Float in
                let u = rng.uniform()
                return u < 0.33 ? 0 : (u < 0.5 ? 1 : rng.uniform())
            }
            var w = (0..<dim).map { _ in rng.normal() * 1e-2 }
            if trial % 3 == 0 { for i in stride(from: 0, to: dim, by: 4) { w[i] = 0 } }
            if trial % 7 == 0 { w[0] = -0.0 }
            let p = (0..<dim).map { _ in rng.uniform() }
            var b = zip(w, p).map { $0 * $1 }.reduce(0, +)
            if trial % 4 == 1 { b += 1e3 }   // out of the box's reach: the corner
            if trial % 4 == 2 { b = zip(w, t).map { $0 * $1 }.reduce(0, +) }   // t on the plane
            let got = FABProjection.linf(t, w, b, dim)
            let want = Reference.linf(t, w, b, dim)
            XCTAssertEqual(got.map { $0.bitPattern }, want.map { $0.bitPattern }, "trial \(trial), dim \(dim)")
        }
    }
}
