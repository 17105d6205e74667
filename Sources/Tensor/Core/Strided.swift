// Strided: the one loop under broadcasting, permute, slice, pad, flip and reductions.
//
// A walk visits every element of `shape` in row-major order, one innermost row at a time,
// with two offsets that advance by their own strides (0 for a broadcast dimension).

enum Strided {
    /// Row-major strides of a contiguous tensor of `shape`.
    @inline(__always) static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// Calls `body(offA, offB, n, strideA, strideB)` for each innermost row of `shape`; offsets
    /// start at `baseA`/`baseB` and follow `stridesA`/`stridesB` (same rank as `shape`).
    static func walk(_ shape: [Int], _ stridesA: [Int], _ stridesB: [Int], baseA: Int = 0, baseB: Int = 0,
                     _ body: (_ offA: Int, _ offB: Int, _ n: Int, _ sa: Int, _ sb: Int) -> Void) {
        let r = shape.count
        if r == 0 { body(baseA, baseB, 1, 0, 0); return }
        if shape.contains(0) { return }
        let n = shape[r - 1], sa = stridesA[r - 1], sb = stridesB[r - 1]
        var rows = 1
        for i in 0..<(r - 1) { rows *= shape[i] }
        var idx = [Int](repeating: 0, count: r)
        var oa = baseA, ob = baseB
        for _ in 0..<rows {
            body(oa, ob, n, sa, sb)
            // Advance the multi-index over the outer dims.
            var d = r - 2
            while d >= 0 {
                idx[d] += 1
                oa += stridesA[d]; ob += stridesB[d]
                if idx[d] < shape[d] { break }
                oa -= stridesA[d] * shape[d]; ob -= stridesB[d] * shape[d]
                idx[d] = 0
                d -= 1
            }
        }
    }

    /// Merges adjacent dimensions d, d+1 wherever both stride lists step over them as one
    /// (stride[d] == stride[d+1] * shape[d+1]), so a walk visits fewer, longer rows. The visiting
    /// order and every offset stay the same.
    static func coalesced(_ shape: [Int], _ sa: [Int], _ sb: [Int]) -> ([Int], [Int], [Int]) {
        guard shape.count >= 2 else { return (shape, sa, sb) }
        var rs = [shape[shape.count - 1]], ra = [sa[sa.count - 1]], rb = [sb[sb.count - 1]]
        for d in stride(from: shape.count - 2, through: 0, by: -1) {
            let n = rs[0]
            if sa[d] == ra[0] * n && sb[d] == rb[0] * n {
                rs[0] = n * shape[d]
            } else {
                rs.insert(shape[d], at: 0); ra.insert(sa[d], at: 0); rb.insert(sb[d], at: 0)
            }
        }
        return (rs, ra, rb)
    }

    /// Copies `src` (read with `srcStrides` from `srcBase`) into a contiguous tensor of `shape`.
    static func gather(_ src: UnsafePointer<Float>, _ shape: [Int], _ srcStrides: [Int], base: Int = 0) -> Tensor {
        let out = Tensor(uninitialized: shape)
        let dst = out.ptr
        walkOuter(shape, srcStrides, strides(shape), baseA: base) { oa, ob, n, sa, _ in
            if sa == 1 {
                (dst + ob).update(from: src + oa, count: n)
            } else {
                var j = oa
                for i in 0..<n { dst[ob + i] = src[j]; j += sa }
            }
        }
        return out
    }

    /// `walk`, with the indices of the first axis split over threads when the tensor is large.
    /// Only for bodies whose rows write disjoint memory (B must not broadcast over axis 0).
    static func walkOuter(_ shape: [Int], _ stridesA: [Int], _ stridesB: [Int], baseA: Int = 0, baseB: Int = 0,
                          _ body: (_ offA: Int, _ offB: Int, _ n: Int, _ sa: Int, _ sb: Int) -> Void) {
        guard shape.count >= 2, shape[0] >= 2 else {
            walk(shape, stridesA, stridesB, baseA: baseA, baseB: baseB, body)
            return
        }
        let inner = shape.dropFirst().reduce(1, *)
        let sub = Array(shape.dropFirst()), subA = Array(stridesA.dropFirst()), subB = Array(stridesB.dropFirst())
        Parallel.forEach(shape[0], minChunk: Swift.max(1, 65536 / Swift.max(inner, 1))) { r in
            for i in r {
                walk(sub, subA, subB, baseA: baseA + i * stridesA[0], baseB: baseB + i * stridesB[0], body)
            }
        }
    }

    /// Adds a contiguous `src` of `shape` into `dst` at offsets given by `dstStrides` from `base`
    /// (the inverse of `gather`; broadcast dims with stride 0 accumulate).
    static func scatterAdd(_ src: UnsafePointer<Float>, _ shape: [Int], into dst: UnsafeMutablePointer<Float>,
                           _ dstStrides: [Int], base: Int = 0) {
        walk(shape, strides(shape), dstStrides, baseB: base) { oa, ob, n, _, sb in
            if sb == 0 {
                dst[ob] += Tensor.rowSum(src + oa, n)
            } else {
                var j = ob
                for i in 0..<n { dst[j] += src[oa + i]; j += sb }
            }
        }
    }

    /// The broadcast of two shapes (NumPy rules), or a shape error naming both.
    static func broadcastShape(_ a: [Int], _ b: [Int], op: String) throws -> [Int] {
        if a == b { return a }
        let r = max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else {
                throw EngineError.shape("\(op): shapes \(a) and \(b) cannot be broadcast together")
            }
        }
        // A result is allocated from this shape: it passes the same limit as zeros/rand.
        try Tensor.checkSize(out, "\(op) of \(a) and \(b)")
        return out
    }

    /// Strides for reading a contiguous tensor of `shape` as if it had `outShape` (0 on broadcast dims).
    static func broadcastStrides(_ shape: [Int], to outShape: [Int]) -> [Int] {
        let s = strides(shape)
        let r = outShape.count, off = r - shape.count
        var out = [Int](repeating: 0, count: r)
        for i in 0..<shape.count where shape[i] != 1 || outShape[i + off] == 1 {
            out[i + off] = shape[i] == 1 ? 0 : s[i]
        }
        return out
    }
}

extension Tensor {
    /// `self` broadcast to `shape` as a new contiguous tensor (no graph; internal).
    func expandedRaw(_ shape: [Int]) -> Tensor {
        if self.shape == shape { return self }
        return Strided.gather(ptr, shape, Strided.broadcastStrides(self.shape, to: shape))
    }

    /// Sums a gradient of a broadcast result back to `shape` (the input's shape). No graph.
    static func reduceTo(_ g: Tensor, _ shape: [Int]) -> Tensor {
        if g.shape == shape { return g }
        let out = Tensor(zeros: shape)
        let dstStrides = Strided.broadcastStrides(shape, to: g.shape)
        // Parts from the shape only (not the thread count), added in part order: the same sum
        // with any number of threads (docs/architecture.md, "Determinism").
        let t = Parallel.parts(g.rank >= 2 ? g.shape[0] : 0, quantum: 1, maxParts: 8)
        if t > 1, g.count >= 1 << 16 {
            // Split the first axis; each part sums into its own copy (axis 0 may be reduced).
            let parts = Tensor(zeros: [t, out.count])
            let per = (g.shape[0] + t - 1) / t, inner = g.count / g.shape[0]
            let sub = [per] + Array(g.shape.dropFirst())
            let pg = g.ptr, pp = parts.ptr, n0 = g.shape[0], m = out.count
            Parallel.forEach(t, minChunk: 1) { r in
                for p in r {
                    let lo = p * per, cnt = Swift.min(per, n0 - lo)
                    if cnt <= 0 { continue }
                    var shapeP = sub
                    shapeP[0] = cnt
                    Strided.scatterAdd(pg + lo * inner, shapeP, into: pp + p * m, dstStrides, base: lo * dstStrides[0])
                }
            }
            let po = out.ptr
            for p in 0..<t { for j in 0..<m { po[j] += pp[p * m + j] } }
            return out
        }
        Strided.scatterAdd(g.ptr, g.shape, into: out.ptr, dstStrides)
        return out
    }

    /// Normalises a possibly negative axis, or throws naming the op and the shape.
    func axis(_ a: Int, _ op: String) throws -> Int {
        let r = rank
        let ax = a < 0 ? a + r : a
        guard ax >= 0 && ax < r else {
            throw EngineError.invalidArgument("\(op): axis \(a) is out of range for shape \(shape)")
        }
        return ax
    }
}
