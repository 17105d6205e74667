// Softmax and log-softmax along one axis (numerically stable: max subtracted).
// x: any shape -> same shape. The last axis (contiguous rows) takes a SIMD path.
import CKernels
import Foundation

extension Tensor {
    /// Applies `body(base, n, stride)` to every 1-D line along `ax`.
    func forEachLine(_ ax: Int, _ minChunkLines: Int, _ body: (Int, Int, Int) -> Void) {
        let (outer, n, inner) = splitAt(ax)
        Parallel.forEach(outer * inner, minChunk: minChunkLines) { r in
            for l in r {
                let o = l / inner, i = l % inner
                body(o * n * inner + i, n, inner)
            }
        }
    }

    /// Sum of n contiguous floats.
    @inline(__always) static func rowSum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var s8 = F8()
        var i = 0
        while i + 8 <= n { s8 += FastMath.load(p + i); i += 8 }
        var s = s8.sum()
        while i < n { s += p[i]; i += 1 }
        return s
    }

    /// Sum of a[i] * b[i] over n contiguous floats.
    @inline(__always) static func rowDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var s8 = F8()
        var i = 0
        while i + 8 <= n { s8 += FastMath.load(a + i) * FastMath.load(b + i); i += 8 }
        var s = s8.sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// Softmax along `axis`.
    public func softmax(axis: Int = -1) throws -> Tensor {
        let ax = try self.axis(axis, "softmax")
        let out = Tensor(uninitialized: shape)
        let px = ptr, po = out.ptr
        let n = shape[ax]
        if ax == rank - 1 {
            Parallel.forEach(count / Swift.max(n, 1), minChunk: Swift.max(1, 16384 / Swift.max(n, 1))) { r in
                adv_softmax_rows(px + r.lowerBound * n, po + r.lowerBound * n, r.count, n)
            }
        } else {
            forEachLine(ax, Swift.max(1, 8192 / Swift.max(n, 1))) { b, n, s in
                var m = -Float.infinity
                for j in 0..<n { m = Swift.max(m, px[b + j * s]) }
                var z: Float = 0
                for j in 0..<n { let e = Foundation.exp(px[b + j * s] - m); po[b + j * s] = e; z += e }
                let iz = 1 / z
                for j in 0..<n { po[b + j * s] *= iz }
            }
        }
        let a = self.gradientHandle, y = out.savedValues
        out.record([a]) { g in a.addGrad(Tensor.softmaxBackward(g, y: y.ptr, axis: ax)) }
        return out
    }

    /// The input gradient of `softmax` along `ax`: dx = y * (g - sum(g * y)) along each line.
    /// - Parameters:
    ///   - g: the output gradient, any shape
    ///   - y: the forward output (same shape as g)
    /// - Returns: the shape of g
    static func softmaxBackward(_ g: Tensor, y po: UnsafePointer<Float>, axis ax: Int) -> Tensor {
        let gx = Tensor(zeros: g.shape)
        let pg = g.ptr, pgx = gx.ptr
        let n = g.shape[ax]
        if ax == g.rank - 1 {
            Parallel.forEach(g.count / Swift.max(n, 1), minChunk: Swift.max(1, 16384 / Swift.max(n, 1))) { r in
                let o = r.lowerBound * n
                adv_softmax_rows_backward(pg + o, po + o, pgx + o, r.count, n)
            }
        } else {
            g.forEachLine(ax, Swift.max(1, 8192 / Swift.max(n, 1))) { b, n, s in
                var d: Float = 0
                for j in 0..<n { d += pg[b + j * s] * po[b + j * s] }
                for j in 0..<n { pgx[b + j * s] = po[b + j * s] * (pg[b + j * s] - d) }
            }
        }
        return gx
    }

    /// Log-softmax along `axis`.
    public func logSoftmax(axis: Int = -1) throws -> Tensor {
        let ax = try self.axis(axis, "logSoftmax")
        let out = Tensor(zeros: shape)
        let px = ptr, po = out.ptr
        let n = shape[ax]
        forEachLine(ax, Swift.max(1, 8192 / Swift.max(n, 1))) { b, n, s in
            var m = -Float.infinity
            for j in 0..<n { m = Swift.max(m, px[b + j * s]) }
            var z: Float = 0
            for j in 0..<n { z += Foundation.exp(px[b + j * s] - m) }
            let lz = m + Foundation.log(z)
            for j in 0..<n { po[b + j * s] = px[b + j * s] - lz }
        }
        let a = self.gradientHandle, y = out.savedValues
        out.record([a]) { g in a.addGrad(Tensor.logSoftmaxBackward(g, y: y.ptr, axis: ax)) }
        return out
    }

    /// The input gradient of `logSoftmax` along `ax`: dx = g - exp(y) * sum(g) along each line.
    /// - Parameters:
    ///   - g: the output gradient, any shape
    ///   - y: the forward output (log-probabilities, same shape as g)
    /// - Returns: the shape of g
    static func logSoftmaxBackward(_ g: Tensor, y po: UnsafePointer<Float>, axis ax: Int) -> Tensor {
        let gx = Tensor(zeros: g.shape)
        let pg = g.ptr, pgx = gx.ptr
        let n = g.shape[ax]
        g.forEachLine(ax, Swift.max(1, 8192 / Swift.max(n, 1))) { b, n, s in
            var sg: Float = 0
            for j in 0..<n { sg += pg[b + j * s] }
            for j in 0..<n { pgx[b + j * s] = pg[b + j * s] - Foundation.exp(po[b + j * s]) * sg }
        }
        return gx
    }
}
