// Shape ops: reshape, permute, transpose, slice, concat, split, pad, roll, flip, gather, expand.
import CKernels

extension Tensor {
    /// The same data with a new shape (one -1 is inferred). Shares storage.
    /// - Parameters:
    ///   - newShape: the target shape; its product must equal `count`.
    public func reshape(_ newShape: [Int]) throws -> Tensor {
        var s = newShape
        let unknown = s.indices.filter { s[$0] == -1 }
        guard unknown.count <= 1, s.allSatisfy({ $0 >= -1 }) else {
            throw EngineError.shape("reshape: bad target shape \(newShape) for \(shape)")
        }
        if let u = unknown.first {
            let known = Tensor.elementCount(s.enumerated().filter { $0.offset != u }.map(\.element)) ?? 0
            guard known > 0, count % known == 0 else {
                throw EngineError.shape("reshape: cannot reshape \(shape) (\(count) values) to \(newShape)")
            }
            s[u] = count / known
        }
        guard Tensor.elementCount(s) == count else {
            throw EngineError.shape("reshape: cannot reshape \(shape) (\(count) values) to \(newShape)")
        }
        let out = Tensor(shape: s, storage: storage)
        let a = self.gradientHandle
        out.record([a]) { g in a.addGrad(Tensor(shape: a.shape, storage: g.storage)) }
        return out
    }

    /// Reorders the dimensions: result dim i is input dim dims[i].
    public func permute(_ dims: [Int]) throws -> Tensor {
        guard dims.count == rank, Set(dims.map { $0 < 0 ? $0 + rank : $0 }) == Set(0..<rank) else {
            throw EngineError.invalidArgument("permute: \(dims) is not a permutation of the dims of shape \(shape)")
        }
        let d = dims.map { $0 < 0 ? $0 + rank : $0 }
        if d == Array(0..<rank) { return try reshape(shape) }
        let outShape = d.map { shape[$0] }
        let out = Tensor.permuted(ptr, shape, d)
        var inv = [Int](repeating: 0, count: rank)
        for (i, x) in d.enumerated() { inv[x] = i }
        let a = self.gradientHandle
        out.record([a]) { g in a.addGrad(Tensor.permuted(g.ptr, outShape, inv)) }
        return out
    }

    /// The contiguous values of `src` (of `shape`) with dims reordered by `d`. A permutation that
    /// moves one block of trailing dims past another (NCHW <-> NHWC, the last two dims) is a
    /// batched transpose (CKernels/transpose.c, tiles split over threads); any other is the
    /// strided gather. Both give the same values.
    static func permuted(_ src: UnsafePointer<Float>, _ shape: [Int], _ d: [Int]) -> Tensor {
        let outShape = d.map { shape[$0] }
        guard let (batch, rows, cols) = blockSwap(shape, d), rows > 1, cols > 1 else {
            let st = Strided.strides(shape)
            return Strided.gather(src, outShape, d.map { st[$0] })
        }
        let out = Tensor(uninitialized: outShape)
        let dst = out.ptr
        let tile = 8, tiles = (rows + tile - 1) / tile
        Parallel.forEach(batch * tiles, minChunk: Swift.max(1, 65536 / (tile * cols))) { r in
            for u in r {
                let b = u / tiles, r0 = (u % tiles) * tile
                adv_transpose_batched(src, dst, rows, cols, b, b + 1, r0, Swift.min(rows, r0 + tile))
            }
        }
        return out
    }

    /// (batch, rows, cols) when the permutation `d` of `shape` keeps dims 0..<k and swaps the
    /// blocks k..<j and j..<rank: each (rows, cols) matrix is transposed. Nil otherwise.
    static func blockSwap(_ shape: [Int], _ d: [Int]) -> (Int, Int, Int)? {
        let r = d.count
        var k = 0
        while k < r && d[k] == k { k += 1 }
        guard k < r, d[k] > k else { return nil }
        let j = d[k], m = r - j
        guard k + m < r else { return nil }
        for i in 0..<m where d[k + i] != j + i { return nil }
        for i in 0..<(j - k) where d[k + m + i] != k + i { return nil }
        return (shape[0..<k].reduce(1, *), shape[k..<j].reduce(1, *), shape[j..<r].reduce(1, *))
    }

    /// Swaps two dimensions.
    public func transpose(_ a: Int, _ b: Int) throws -> Tensor {
        let x = try axis(a, "transpose"), y = try axis(b, "transpose")
        var d = Array(0..<rank)
        d.swapAt(x, y)
        return try permute(d)
    }

    /// Elements start..<end along `axis` (negative indices count from the end; clipped to range).
    public func slice(axis: Int, start: Int, end: Int) throws -> Tensor {
        let ax = try normAxes([axis], "slice")[0]
        let n = shape[ax]
        var s = start < 0 ? start + n : start, e = end < 0 ? end + n : end
        s = Swift.min(Swift.max(s, 0), n); e = Swift.min(Swift.max(e, s), n)
        var outShape = shape; outShape[ax] = e - s
        let st = Strided.strides(shape)
        let out = Strided.gather(ptr, outShape, st, base: s * st[ax])
        let a = self.gradientHandle
        out.record([a]) { g in
            let gx = Tensor(zeros: a.shape)
            Strided.scatterAdd(g.ptr, outShape, into: gx.ptr, st, base: s * st[ax])
            a.addGrad(gx)
        }
        return out
    }

    /// Joins tensors along `axis`; all other dims must agree.
    public static func concat(_ ts: [Tensor], axis: Int) throws -> Tensor {
        guard let first = ts.first else { throw EngineError.invalidArgument("concat: no tensors") }
        let ax = try first.normAxes([axis], "concat")[0]
        var outShape = first.shape
        outShape[ax] = 0
        for t in ts {
            var a = t.shape, b = first.shape
            guard a.count == b.count else {
                throw EngineError.shape("concat: shapes \(first.shape) and \(t.shape) differ in rank")
            }
            a[ax] = 0; b[ax] = 0
            guard a == b else { throw EngineError.shape("concat: shapes \(first.shape) and \(t.shape) differ outside axis \(axis)") }
            outShape[ax] += t.shape[ax]
        }
        let out = Tensor(zeros: outShape)
        let ost = Strided.strides(outShape)
        var offsets: [Int] = []
        var off = 0
        for t in ts {
            offsets.append(off)
            Strided.walk(t.shape, Strided.strides(t.shape), ost, baseB: off * ost[ax]) { oa, ob, n, _, _ in
                (out.ptr + ob).update(from: t.ptr + oa, count: n)
            }
            off += t.shape[ax]
        }
        let ts = ts.map { $0.gradientHandle }
        out.record(ts) { g in
            for (t, o) in zip(ts, offsets) where t.requiresGrad {
                t.addGrad(Strided.gather(g.ptr, t.shape, ost, base: o * ost[ax]))
            }
        }
        return out
    }

    /// Splits along `axis` into pieces of the given sizes (which must sum to the dim).
    public func split(sizes: [Int], axis: Int) throws -> [Tensor] {
        let ax = try normAxes([axis], "split")[0]
        guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == shape[ax] else {
            throw EngineError.shape("split: sizes \(sizes) do not sum to dim \(ax) of shape \(shape)")
        }
        var out: [Tensor] = []
        var s = 0
        for n in sizes {
            out.append(try slice(axis: ax, start: s, end: s + n))
            s += n
        }
        return out
    }

    /// Pads with a constant: one (before, after) pair per dim (negative values are errors).
    public func pad(_ pads: [(Int, Int)], value: Float = 0) throws -> Tensor {
        guard pads.count == rank else {
            throw EngineError.shape("pad: \(pads.count) pad pairs for shape \(shape) (needs \(rank))")
        }
        guard pads.allSatisfy({ $0.0 >= 0 && $0.1 >= 0 }) else {
            throw EngineError.invalidArgument("pad: negative padding \(pads)")
        }
        let outShape = zip(shape, pads).map { $0 + $1.0 + $1.1 }
        let out = Tensor(shape: outShape, repeating: value)
        let ost = Strided.strides(outShape)
        let base = zip(pads, ost).reduce(0) { $0 + $1.0.0 * $1.1 }
        let po = out.ptr, pi = ptr
        Strided.walk(shape, Strided.strides(shape), ost, baseB: base) { oa, ob, n, _, _ in
            (po + ob).update(from: pi + oa, count: n)
        }
        let a = self.gradientHandle
        out.record([a]) { g in a.addGrad(Strided.gather(g.ptr, a.shape, ost, base: base)) }
        return out
    }

    /// Cyclic shift: element i moves to (i + shift) mod n along each axis (torch.roll).
    public func roll(shifts: [Int], axes: [Int]) throws -> Tensor {
        guard shifts.count == axes.count else {
            throw EngineError.invalidArgument("roll: \(shifts.count) shifts for \(axes.count) axes")
        }
        let ax = try axes.map { try normAxes([$0], "roll")[0] }
        var sh = [Int](repeating: 0, count: rank)
        for (a, s) in zip(ax, shifts) where shape[a] > 0 { sh[a] = ((sh[a] + s) % shape[a] + shape[a]) % shape[a] }
        let out = Tensor.rollRaw(self, sh)
        let a = self.gradientHandle
        out.record([a]) { g in
            a.addGrad(Tensor.rollRaw(g, zip(sh, a.shape).map { $1 == 0 ? 0 : ($1 - $0) % $1 }))
        }
        return out
    }

    static func rollRaw(_ x: Tensor, _ sh: [Int]) -> Tensor {
        let out = Tensor(zeros: x.shape)
        if x.count == 0 { return out }
        let r = x.rank
        if r == 0 { out.ptr[0] = x.ptr[0]; return out }
        let st = Strided.strides(x.shape)
        let n = x.shape[r - 1], s = sh[r - 1]
        let pi = x.ptr, po = out.ptr
        // Outer dims: destination row offset computed per row.
        let rows = x.count / Swift.max(n, 1)
        var idx = [Int](repeating: 0, count: r)
        for row in 0..<rows {
            var dst = 0
            for d in 0..<(r - 1) { dst += ((idx[d] + sh[d]) % x.shape[d]) * st[d] }
            let src = row * n
            // last dim: [0, n-s) -> [s, n), [n-s, n) -> [0, s)
            (po + dst + s).update(from: pi + src, count: n - s)
            (po + dst).update(from: pi + src + n - s, count: s)
            var d = r - 2
            while d >= 0 {
                idx[d] += 1
                if idx[d] < x.shape[d] { break }
                idx[d] = 0
                d -= 1
            }
        }
        return out
    }

    /// Reverses the order along `axis`.
    public func flip(axis: Int) throws -> Tensor {
        let ax = try normAxes([axis], "flip")[0]
        var st = Strided.strides(shape)
        let base = (shape[ax] - 1) * st[ax]
        st[ax] = -st[ax]
        let out = shape[ax] == 0 ? Tensor(zeros: shape) : Strided.gather(ptr, shape, st, base: base)
        let a = self.gradientHandle
        out.record([a]) { g in
            a.addGrad(a.shape[ax] == 0 ? Tensor(zeros: a.shape) : Strided.gather(g.ptr, a.shape, st, base: base))
        }
        return out
    }

    /// x: (N, C), labels: N class indices -> (N,) with out[i] = x[i, labels[i]].
    public func gather(labels: [Int]) throws -> Tensor {
        guard rank == 2, labels.count == shape[0] else {
            throw EngineError.shape("gather: needs (N, C) and N labels, got shape \(shape) and \(labels.count) labels")
        }
        let c = shape[1]
        for l in labels where l < 0 || l >= c {
            throw EngineError.invalidArgument("gather: label \(l) is out of range for \(c) classes")
        }
        let out = Tensor(zeros: [shape[0]])
        for (i, l) in labels.enumerated() { out.ptr[i] = ptr[i * c + l] }
        let a = self.gradientHandle
        out.record([a]) { g in
            let gx = Tensor(zeros: a.shape)
            for (i, l) in labels.enumerated() { gx.ptr[i * c + l] = g.ptr[i] }
            a.addGrad(gx)
        }
        return out
    }

    /// A broadcast copy with the given shape (gradient sums back).
    public func expand(to newShape: [Int]) throws -> Tensor {
        let s = try Strided.broadcastShape(shape, newShape, op: "expand")
        guard s == newShape else { throw EngineError.shape("expand: cannot expand \(shape) to \(newShape)") }
        let out = expandedRaw(newShape)
        if out === self { return try reshape(shape) }
        let a = self.gradientHandle
        out.record([a]) { g in a.addGrad(Tensor.reduceTo(g, a.shape)) }
        return out
    }
}
