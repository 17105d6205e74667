// FAB's projection step (Croce & Hein 2020, fra31/auto-attack `fab_projections.py`): the
// smallest move d (L-inf or L2 length) taking a point t onto the hyperplane w . x = b while
// staying in the box [0, 1]^D. Both are solved per row by sorting the coordinates by where
// they hit the box and walking the piecewise-linear constraint to its root:
//   L-inf: d_i = s_i * min(lambda, p_i), s_i the direction that lowers w . x, p_i the room to
//          the box in that direction; find the smallest lambda with w . (t + d) = b.
//   L2:    d_i = clip(-alpha w_i, -t_i, 1 - t_i) (the KKT form); find alpha >= 0 with
//          w . (t + d) = b.
// When the box cannot reach the hyperplane the move to the nearest box corner along that
// direction is returned (as the reference does); coordinates with w_i = 0 do not move.
import Foundation
import Tensor

enum FABProjection {
    /// The L-inf projection move of one row.
    /// - Parameters:
    ///   - t: the point (D).
    ///   - w: the hyperplane's normal (D).
    ///   - b: its offset.
    /// - Returns: d (D).
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
        let order = FABProjection.order(p, descending: true)
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

    /// The indices of `v` sorted by value (ties: lower index first), as the stable
    /// `(0..<n).sorted { v[$0] > v[$1] }` (or `<`) orders them, for values that are not NaN.
    /// Each value becomes its order-preserving 32-bit pattern and the indices are put in order
    /// by a stable least-significant-digit radix sort (4 passes of 8 bits, a pass skipped when
    /// all keys share its byte): no comparisons at all, and stability keeps the lower index first
    /// among equal values (the projections sort two rows of D coordinates per image and
    /// iteration; the comparison sort was about 4% of an AutoAttack run, BENCHMARKS.md).
    static func order(_ v: [Float], descending: Bool) -> [Int] {
        let n = v.count
        var keys = [UInt32](repeating: 0, count: n)
        for i in 0..<n {
            // + 0 turns -0 into +0 (they compare equal); negative values flip all bits, positive
            // ones the sign bit, so the unsigned order is the numeric order.
            let bits = (v[i] + 0).bitPattern
            let k = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
            keys[i] = descending ? ~k : k
        }
        var idx = Array(0..<n), tmp = [Int](repeating: 0, count: n)
        var count = [Int](repeating: 0, count: 257)
        for shift: UInt32 in [0, 8, 16, 24] {
            for b in 0..<257 { count[b] = 0 }
            for i in 0..<n { count[Int((keys[i] >> shift) & 255) + 1] += 1 }
            if count.contains(n) { continue }  // every key has the same byte here
            for b in 1..<257 { count[b] += count[b - 1] }
            for i in idx {
                let b = Int((keys[i] >> shift) & 255)
                tmp[count[b]] = i
                count[b] += 1
            }
            swap(&idx, &tmp)
        }
        return idx
    }

    /// The L2 projection move of one row (same arguments as `linf`).
    static func l2(_ t: UnsafePointer<Float>, _ w0: UnsafePointer<Float>, _ b0: Float, _ dim: Int) -> [Float] {
        var c: Float = -b0
        for i in 0..<dim { c += w0[i] * t[i] }
        let sign: Float = c >= 0 ? 1 : -1
        c *= sign
        // r_i: the alpha at which coordinate i reaches the box; dsat_i its move there.
        var r = [Float](repeating: 1e12, count: dim), dsat = [Float](repeating: 0, count: dim)
        var w = [Float](repeating: 0, count: dim)
        var wsq: Float = 0
        for i in 0..<dim {
            w[i] = w0[i] * sign
            guard abs(w[i]) > 1e-8 else { w[i] = 0; continue }
            wsq += w[i] * w[i]
            if w[i] > 0 { r[i] = t[i] / w[i]; dsat[i] = -t[i] } else { r[i] = (t[i] - 1) / w[i]; dsat[i] = 1 - t[i] }
        }
        var full: Float = c
        for i in 0..<dim { full += w[i] * dsat[i] }
        if full > 0 { return dsat }                      // the box cannot reach the plane
        let order = FABProjection.order(r, descending: false)
        var alpha = wsq > 0 ? c / wsq : 0
        if order.isEmpty || alpha <= r[order[0]] {       // no coordinate saturates
            return w.map { -alpha * $0 }
        }
        // alpha in [r_(k-1), r_(k)]: 0..<k saturated; g(alpha) = c + sum_sat w dsat - alpha * free.
        var satSum: Float = 0, free = wsq
        for (k, i) in order.enumerated() {
            guard w[i] != 0 else { break }
            satSum += w[i] * dsat[i]
            free -= w[i] * w[i]
            let next = k + 1 < dim ? r[order[k + 1]] : Float(1e12)
            if c + satSum - next * max(free, 0) <= 0 || k + 1 == dim {
                alpha = free > 0 ? (c + satSum) / free : next
                break
            }
        }
        return (0..<dim).map { i in w[i] == 0 ? 0 : (r[i] <= alpha ? dsat[i] : -alpha * w[i]) }
    }
}
