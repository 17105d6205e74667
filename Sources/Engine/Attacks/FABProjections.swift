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
import CKernels
import Foundation
import Tensor

enum FABProjection {
    /// The L-inf projection move of one row (CKernels/fabprojection.c, a port of the Swift loop
    /// that `FABProjectionTests` keeps as its reference, bit for bit).
    /// - Parameters:
    ///   - t: the point (D).
    ///   - w: the hyperplane's normal (D).
    ///   - b: its offset.
    /// - Returns: d (D).
    static func linf(_ t: UnsafePointer<Float>, _ w0: UnsafePointer<Float>, _ b0: Float, _ dim: Int) -> [Float] {
        guard dim > 0 else { return [] }
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: 5 * dim) { scratch in
            [Float](unsafeUninitializedCapacity: dim) { d, count in
                adv_fab_linf(t, w0, b0, dim, d.baseAddress!, scratch.baseAddress!)
                count = dim
            }
        }
    }

    /// The indices of `v` sorted by value (ties: lower index first), as the stable
    /// `(0..<n).sorted { v[$0] > v[$1] }` (or `<`) orders them, for values that are not NaN.
    /// Each value becomes its order-preserving 32-bit pattern and the indices are put in order
    /// by a stable least-significant-digit radix sort (4 passes of 8 bits, a pass skipped when
    /// all keys share its byte; CKernels/fabprojection.c): no comparisons at all, and stability
    /// keeps the lower index first among equal values (the projections sort two rows of D
    /// coordinates per image and iteration; the comparison sort was about 4% of an AutoAttack
    /// run, BENCHMARKS.md).
    static func order(_ v: [Float], descending: Bool) -> [Int] {
        let n = v.count
        guard n > 0 else { return [] }
        var idx = [Int32](repeating: 0, count: n), tmp = [Int32](repeating: 0, count: n)
        var keys = [UInt32](repeating: 0, count: n)
        adv_fab_order(v, n, descending ? 1 : 0, &idx, &keys, &tmp)
        return idx.map { Int($0) }
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
