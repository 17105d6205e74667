// Softmax and log-softmax along one axis (numerically stable: max subtracted).
// x: any shape -> same shape
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

    /// Softmax along `axis`.
    public func softmax(axis: Int = -1) throws -> Tensor {
        let ax = try self.axis(axis, "softmax")
        let out = Tensor(zeros: shape)
        let px = ptr, po = out.ptr
        let n = shape[ax]
        forEachLine(ax, Swift.max(1, 8192 / Swift.max(n, 1))) { b, n, s in
            var m = -Float.infinity
            for j in 0..<n { m = Swift.max(m, px[b + j * s]) }
            var z: Float = 0
            for j in 0..<n { let e = Foundation.exp(px[b + j * s] - m); po[b + j * s] = e; z += e }
            let iz = 1 / z
            for j in 0..<n { po[b + j * s] *= iz }
        }
        let a = self
        out.record([a]) { g in
            // dx = y * (g - sum(g * y))
            let gx = Tensor(zeros: a.shape)
            let pg = g.ptr, pgx = gx.ptr
            a.forEachLine(ax, Swift.max(1, 8192 / Swift.max(n, 1))) { b, n, s in
                var d: Float = 0
                for j in 0..<n { d += pg[b + j * s] * po[b + j * s] }
                for j in 0..<n { pgx[b + j * s] = po[b + j * s] * (pg[b + j * s] - d) }
            }
            a.addGrad(gx)
        }
        return out
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
        let a = self
        out.record([a]) { g in
            // dx = g - softmax * sum(g)
            let gx = Tensor(zeros: a.shape)
            let pg = g.ptr, pgx = gx.ptr
            a.forEachLine(ax, Swift.max(1, 8192 / Swift.max(n, 1))) { b, n, s in
                var sg: Float = 0
                for j in 0..<n { sg += pg[b + j * s] }
                for j in 0..<n { pgx[b + j * s] = pg[b + j * s] - Foundation.exp(po[b + j * s]) * sg }
            }
            a.addGrad(gx)
        }
        return out
    }
}
