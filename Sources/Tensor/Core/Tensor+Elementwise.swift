// Elementwise ops with NumPy broadcasting, each with its backward.
// a: any shape, b: broadcastable to a common shape -> (broadcast shape)
import CKernels
import Foundation

extension Tensor {
    // MARK: kernels (no graph)

    /// out = f(a, b) over the broadcast shape (shapes already checked).
    @inline(__always)
    static func zipRaw(_ a: Tensor, _ b: Tensor, _ shape: [Int], _ f: (Float, Float) -> Float) -> Tensor {
        withoutActuallyEscaping(f) { ef in zipRaw(a, b, shape, ClosureOp(f: ef)) }
    }

    /// As `zipRaw(_:_:_:_:)` for an op known at compile time (`AddOp()`, `MulOp()`, ...): the
    /// generic is specialised per op, so the loops inline and vectorise it instead of calling a
    /// closure per element (the add, sub, mul and div of every model ran through such calls).
    static func zipRaw<F: BinaryFloatOp>(_ a: Tensor, _ b: Tensor, _ shape: [Int], _ f: F) -> Tensor {
        let out = Tensor(uninitialized: shape)
        let o = out.ptr
        if a.shape == shape && b.shape == shape {
            let pa = a.ptr, pb = b.ptr
            let n = out.count
            Parallel.forEach(n, minChunk: 1 << 16) { r in
                for i in r { o[i] = f(pa[i], pb[i]) }
            }
            return out
        }
        if a.shape == shape && b.count == 1 {
            let pa = a.ptr, s = b.ptr[0]
            Parallel.forEach(out.count, minChunk: 1 << 16) { r in
                for i in r { o[i] = f(pa[i], s) }
            }
            return out
        }
        if b.shape == shape && a.count == 1 {
            let pb = b.ptr, s = a.ptr[0]
            Parallel.forEach(out.count, minChunk: 1 << 16) { r in
                for i in r { o[i] = f(s, pb[i]) }
            }
            return out
        }
        // Adjacent dims that both operands step through as one (e.g. H and W of a per-channel
        // scale) are merged, so rows are whole planes rather than single image rows.
        let (shape, sa, sb) = Strided.coalesced(shape, Strided.broadcastStrides(a.shape, to: shape),
                                                Strided.broadcastStrides(b.shape, to: shape))
        let pa = a.ptr, pb = b.ptr
        if shape.count == 3, sa == [shape[1] * shape[2], shape[2], 1], sb == [0, 1, 0] {
            // a (N, C, HW) with a per-channel b (C): the NCHW scale/shift pattern, as planes
            // over threads with plain loops (no per-row walk).
            let c = shape[1], hw = shape[2]
            Parallel.forEach(shape[0] * c, minChunk: Swift.max(1, 65536 / Swift.max(hw, 1))) { r in
                for plane in r {
                    let v = pb[plane % c], src = pa + plane * hw, dst = o + plane * hw
                    for t in 0..<hw { dst[t] = f(src[t], v) }
                }
            }
            return out
        }
        if shape.count >= 2 && shape[0] >= 2 {
            // Rows of the first axis in parallel; each writes its own contiguous block of out.
            let inner = out.count / shape[0]
            let sub = Array(shape.dropFirst()), subA = Array(sa.dropFirst()), subB = Array(sb.dropFirst())
            Parallel.forEach(shape[0], minChunk: Swift.max(1, 65536 / Swift.max(inner, 1))) { r in
                for i in r {
                    var k = i * inner
                    Strided.walk(sub, subA, subB, baseA: i * sa[0], baseB: i * sb[0]) { oa, ob, n, ia, ib in
                        // Contiguous rows against a broadcast scalar or another contiguous row are
                        // the common cases (per-channel scales and biases): plain loops vectorise.
                        if ia == 1 && ib == 0 {
                            let s = pb[ob], src = pa + oa, dst = o + k
                            for t in 0..<n { dst[t] = f(src[t], s) }
                        } else if ia == 0 && ib == 1 {
                            let s = pa[oa], src = pb + ob, dst = o + k
                            for t in 0..<n { dst[t] = f(s, src[t]) }
                        } else if ia == 1 && ib == 1 {
                            let s1 = pa + oa, s2 = pb + ob, dst = o + k
                            for t in 0..<n { dst[t] = f(s1[t], s2[t]) }
                        } else {
                            var ja = oa, jb = ob
                            for t in 0..<n {
                                o[k + t] = f(pa[ja], pb[jb])
                                ja += ia; jb += ib
                            }
                        }
                        k += n
                    }
                }
            }
            return out
        }
        var k = 0
        Strided.walk(shape, sa, sb) { oa, ob, n, ia, ib in
            var ja = oa, jb = ob
            for _ in 0..<n {
                o[k] = f(pa[ja], pb[jb])
                k += 1; ja += ia; jb += ib
            }
        }
        return out
    }

    /// out = f(x) elementwise.
    @inline(__always)
    static func mapRaw(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
        let out = Tensor(uninitialized: x.shape)
        let o = out.ptr, p = x.ptr
        Parallel.forEach(x.count, minChunk: 1 << 16) { r in
            for i in r { o[i] = f(p[i]) }
        }
        return out
    }

    // MARK: binary, broadcasting

    /// Elementwise sum with broadcasting.
    public func add(_ b: Tensor) throws -> Tensor {
        let s = try Strided.broadcastShape(shape, b.shape, op: "add")
        let out = Tensor.zipRaw(self, b, s, AddOp())
        let a = self.gradientHandle, b = b.gradientHandle
        out.record([a, b]) { g in
            a.addGrad(Tensor.reduceTo(g, a.shape))
            b.addGrad(Tensor.reduceTo(g, b.shape))
        }
        return out
    }

    /// Elementwise difference with broadcasting.
    public func sub(_ b: Tensor) throws -> Tensor {
        let s = try Strided.broadcastShape(shape, b.shape, op: "sub")
        let out = Tensor.zipRaw(self, b, s, SubOp())
        let a = self.gradientHandle, b = b.gradientHandle
        out.record([a, b]) { g in
            a.addGrad(Tensor.reduceTo(g, a.shape))
            if b.requiresGrad { b.addGrad(Tensor.reduceTo(Tensor.mapRaw(g) { -$0 }, b.shape)) }
        }
        return out
    }

    /// Elementwise product with broadcasting.
    public func mul(_ b: Tensor) throws -> Tensor {
        let s = try Strided.broadcastShape(shape, b.shape, op: "mul")
        let out = Tensor.zipRaw(self, b, s, MulOp())
        // Each side is read only for the other side's gradient.
        let a = b.requiresGrad ? self : self.gradientHandle, b = requiresGrad ? b : b.gradientHandle
        out.record([a, b]) { g in
            if a.requiresGrad { a.addGrad(Tensor.reduceTo(Tensor.zipRaw(g, b, s, MulOp()), a.shape)) }
            if b.requiresGrad { b.addGrad(Tensor.reduceTo(Tensor.zipRaw(g, a, s, MulOp()), b.shape)) }
        }
        return out
    }

    /// Elementwise quotient with broadcasting.
    public func div(_ b: Tensor) throws -> Tensor {
        let s = try Strided.broadcastShape(shape, b.shape, op: "div")
        let out = Tensor.zipRaw(self, b, s, DivOp())
        let a = self.gradientHandle, y = out.savedValues
        out.record([a, b]) { g in
            if a.requiresGrad { a.addGrad(Tensor.reduceTo(Tensor.zipRaw(g, b, s, DivOp()), a.shape)) }
            if b.requiresGrad {
                // d(a/b)/db = -out / b
                let t = Tensor.zipRaw(g, y, s, *)
                b.addGrad(Tensor.reduceTo(Tensor.zipRaw(t, b, s) { -$0 / $1 }, b.shape))
            }
        }
        return out
    }

    /// Elementwise remainder with broadcasting, PyTorch's `remainder` (Python's `%`):
    /// a - b * floor(a / b), so the result takes the divisor's sign; b == 0 gives NaN.
    /// Gradients: d/da = 1, d/db = -floor(a / b) (zero measure jumps at multiples of b ignored).
    public func remainder(_ b: Tensor) throws -> Tensor {
        let s = try Strided.broadcastShape(shape, b.shape, op: "remainder")
        let out = Tensor.zipRaw(self, b, s) { x, y in x - y * (x / y).rounded(.down) }
        let a = self
        out.record([a, b]) { g in
            a.addGrad(Tensor.reduceTo(g, a.shape))
            if b.requiresGrad {
                let q = Tensor.zipRaw(a, b, s) { x, y in -(x / y).rounded(.down) }
                b.addGrad(Tensor.reduceTo(Tensor.zipRaw(g, q, s, *), b.shape))
            }
        }
        return out
    }

    /// Elementwise maximum with broadcasting (ties send the gradient to `self`).
    public func maximum(_ b: Tensor) throws -> Tensor {
        try pick(b, "maximum") { $0 >= $1 }
    }

    /// Elementwise minimum with broadcasting (ties send the gradient to `self`).
    public func minimum(_ b: Tensor) throws -> Tensor {
        try pick(b, "minimum") { $0 <= $1 }
    }

    private func pick(_ b: Tensor, _ op: String, _ takeA: @escaping (Float, Float) -> Bool) throws -> Tensor {
        let s = try Strided.broadcastShape(shape, b.shape, op: op)
        let out = Tensor.zipRaw(self, b, s) { takeA($0, $1) ? $0 : $1 }
        let a = self
        out.record([a, b]) { g in
            let mask = Tensor.zipRaw(a, b, s) { takeA($0, $1) ? 1 : 0 }
            if a.requiresGrad { a.addGrad(Tensor.reduceTo(Tensor.zipRaw(g, mask, s, *), a.shape)) }
            if b.requiresGrad { b.addGrad(Tensor.reduceTo(Tensor.zipRaw(g, mask, s) { $0 * (1 - $1) }, b.shape)) }
        }
        return out
    }

    /// Picks `a` where `cond != 0` and `b` elsewhere; all three broadcast together.
    /// - Parameters:
    ///   - cond: the selector (not differentiated).
    ///   - a: values where cond is non-zero.
    ///   - b: values where cond is zero.
    public static func `where`(_ cond: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        let s1 = try Strided.broadcastShape(a.shape, b.shape, op: "where")
        let s = try Strided.broadcastShape(cond.shape, s1, op: "where")
        let c = cond.expandedRaw(s), ea = a.expandedRaw(s), eb = b.expandedRaw(s)
        let out = Tensor(zeros: s)
        let pc = c.ptr, pa = ea.ptr, pb = eb.ptr, o = out.ptr
        for i in 0..<out.count { o[i] = pc[i] != 0 ? pa[i] : pb[i] }
        out.record([a, b]) { g in
            if a.requiresGrad { a.addGrad(Tensor.reduceTo(Tensor.zipRaw(g, c, s) { $1 != 0 ? $0 : 0 }, a.shape)) }
            if b.requiresGrad { b.addGrad(Tensor.reduceTo(Tensor.zipRaw(g, c, s) { $1 != 0 ? 0 : $0 }, b.shape)) }
        }
        return out
    }

    // MARK: with a scalar

    /// self + s.
    public func add(scalar s: Float) -> Tensor {
        let out = Tensor.mapRaw(self) { $0 + s }
        let a = self.gradientHandle
        out.record([a]) { g in a.addGrad(g) }
        return out
    }

    /// self * s.
    public func mul(scalar s: Float) -> Tensor {
        let out = Tensor.mapRaw(self) { $0 * s }
        let a = self.gradientHandle
        out.record([a]) { g in a.addGrad(Tensor.mapRaw(g) { $0 * s }) }
        return out
    }

    /// self raised to the power `p` elementwise.
    public func pow(_ p: Float) -> Tensor {
        let out: Tensor
        if p == 2 { out = Tensor.mapRaw(self) { $0 * $0 } } else { out = Tensor.mapRaw(self) { Foundation.pow($0, p) } }
        let a = self
        out.record([a]) { g in
            let d = p == 2 ? Tensor.mapRaw(a) { 2 * $0 } : Tensor.mapRaw(a) { p * Foundation.pow($0, p - 1) }
            a.addGrad(Tensor.zipRaw(g, d, a.shape, *))
        }
        return out
    }

    /// -self.
    public func neg() -> Tensor { mul(scalar: -1) }

    /// e^self.
    public func exp() -> Tensor {
        let out = Tensor.mapRaw(self) { Foundation.exp($0) }
        let a = self.gradientHandle, y = out.savedValues
        out.record([a]) { g in a.addGrad(Tensor.zipRaw(g, y, y.shape, *)) }
        return out
    }

    /// Natural logarithm (log 0 = -inf, negative -> NaN, as in IEEE).
    public func log() -> Tensor {
        let out = Tensor.mapRaw(self) { Foundation.log($0) }
        let a = self
        out.record([a]) { g in a.addGrad(Tensor.zipRaw(g, a, a.shape, /)) }
        return out
    }

    /// Square root.
    public func sqrt() -> Tensor {
        let out = Tensor.mapRaw(self) { $0.squareRoot() }
        let a = self.gradientHandle, y = out.savedValues
        out.record([a]) { g in a.addGrad(Tensor.zipRaw(g, y, y.shape) { $0 / (2 * $1) }) }
        return out
    }

    /// |self| (gradient sign(x), 0 at 0).
    public func abs() -> Tensor {
        let out = Tensor.mapRaw(self) { Swift.abs($0) }
        let a = self
        out.record([a]) { g in
            a.addGrad(Tensor.zipRaw(g, a, a.shape) { $1 > 0 ? $0 : ($1 < 0 ? -$0 : 0) })
        }
        return out
    }

    /// -1, 0 or 1 (gradient zero).
    public func sign() -> Tensor {
        Tensor.mapRaw(self) { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }
    }

    /// Clamps into [min, max] (either bound optional); gradient passes where min <= x <= max.
    public func clamp(min lo: Float?, max hi: Float?) -> Tensor {
        let l = lo ?? -Float.infinity, h = hi ?? Float.infinity
        let out = Tensor.mapRaw(self) { Swift.min(Swift.max($0, l), h) }
        let a = self
        out.record([a]) { g in
            a.addGrad(Tensor.zipRaw(g, a, a.shape) { ($1 >= l && $1 <= h) ? $0 : 0 })
        }
        return out
    }

    /// Rectified linear unit max(x, 0).
    public func relu() -> Tensor {
        let out = Tensor.mapRaw(self) { $0 > 0 ? $0 : 0 }
        let a = self
        out.record([a]) { g in a.addGrad(Tensor.zipRaw(g, a, a.shape) { $1 > 0 ? $0 : 0 }) }
        return out
    }

    /// GELU, exact form x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) (PyTorch's default).
    public func gelu() -> Tensor {
        let out = Tensor(uninitialized: shape)
        let px = ptr, po = out.ptr
        Parallel.forEach((count + 7) / 8, minChunk: 4096) { r in
            let lo = r.lowerBound * 8, hi = Swift.min(r.upperBound * 8, self.count)
            adv_gelu_forward(px + lo, po + lo, hi - lo)
        }
        let a = self
        out.record([a]) { g in
            let gx = Tensor(uninitialized: a.shape)
            let pg = g.ptr, pa = a.ptr, pgx = gx.ptr, n = a.count
            Parallel.forEach((n + 7) / 8, minChunk: 2048) { r in
                let lo = r.lowerBound * 8, hi = Swift.min(r.upperBound * 8, n)
                adv_gelu_backward(pg + lo, pa + lo, pgx + lo, hi - lo)
            }
            a.addGrad(gx)
        }
        return out
    }
}

/// A binary float operation known at compile time, for `Tensor.zipRaw`'s specialised loops.
protocol BinaryFloatOp {
    func callAsFunction(_ a: Float, _ b: Float) -> Float
}

struct AddOp: BinaryFloatOp { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b } }
struct SubOp: BinaryFloatOp { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b } }
struct MulOp: BinaryFloatOp { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b } }
struct DivOp: BinaryFloatOp { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b } }

/// Any closure as a `BinaryFloatOp` (one call per element: for the less common ops).
struct ClosureOp: BinaryFloatOp {
    let f: (Float, Float) -> Float
    @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { f(a, b) }
}
