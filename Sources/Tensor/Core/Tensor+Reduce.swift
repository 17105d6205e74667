// Reductions: sum, mean, variance, max, argmax over axes.
// x: any shape -> reduced dims removed (or kept as 1 with keepDims)

extension Tensor {
    /// Checks and normalises a list of axes (negative allowed, no repeats).
    func normAxes(_ axes: [Int], _ op: String) throws -> [Int] {
        var out: [Int] = []
        for a in axes {
            let ax = a < 0 ? a + rank : a
            guard ax >= 0 && ax < rank else {
                throw EngineError.invalidArgument("\(op): axis \(a) is out of range for shape \(shape)")
            }
            guard !out.contains(ax) else {
                throw EngineError.invalidArgument("\(op): axis \(a) repeated in \(axes)")
            }
            out.append(ax)
        }
        return out.sorted()
    }

    /// Sum of all elements (a scalar).
    public func sum() -> Tensor {
        let out = Tensor(zeros: [])
        var s: Double = 0
        let p = ptr
        for i in 0..<count { s += Double(p[i]) }
        out.ptr[0] = Float(s)
        let a = self.gradientHandle
        out.record([a]) { g in a.addGrad(Tensor(shape: a.shape, repeating: g.ptr[0])) }
        return out
    }

    /// Mean of all elements (a scalar).
    public func mean() -> Tensor {
        sum().mul(scalar: 1 / Float(Swift.max(count, 1)))
    }

    /// Sum over `axes` (all axes when empty).
    /// - Parameters:
    ///   - axes: the dimensions to reduce (negative counts from the end).
    ///   - keepDims: keep reduced dimensions as size 1.
    public func sum(axes: [Int], keepDims: Bool = false) throws -> Tensor {
        let ax = axes.isEmpty ? Array(0..<rank) : try normAxes(axes, "sum")
        var kept = shape
        for a in ax { kept[a] = 1 }
        let out = Tensor(zeros: kept)
        Strided.scatterAdd(ptr, shape, into: out.ptr, Strided.broadcastStrides(kept, to: shape))
        let finalShape = keepDims ? kept : shape.enumerated().filter { !ax.contains($0.offset) }.map { $0.element }
        let result = Tensor(shape: finalShape, storage: out.storage)
        let a = self.gradientHandle
        result.record([a]) { g in
            a.addGrad(Tensor(shape: kept, storage: g.storage).expandedRaw(a.shape))
        }
        return result
    }

    /// Mean over `axes` (all axes when empty).
    /// - Parameters:
    ///   - axes: the dimensions to reduce.
    ///   - keepDims: keep reduced dimensions as size 1.
    public func mean(axes: [Int], keepDims: Bool = false) throws -> Tensor {
        let ax = axes.isEmpty ? Array(0..<rank) : try normAxes(axes, "mean")
        let n = ax.reduce(1) { $0 * shape[$1] }
        return try sum(axes: ax, keepDims: keepDims).mul(scalar: 1 / Float(Swift.max(n, 1)))
    }

    /// Variance over `axes` (biased unless `unbiased`).
    /// - Parameters:
    ///   - axes: the dimensions to reduce.
    ///   - keepDims: keep reduced dimensions as size 1.
    ///   - unbiased: divide by n - 1 instead of n.
    public func variance(axes: [Int], keepDims: Bool = false, unbiased: Bool = false) throws -> Tensor {
        let ax = axes.isEmpty ? Array(0..<rank) : try normAxes(axes, "variance")
        let n = ax.reduce(1) { $0 * shape[$1] }
        let m = try mean(axes: ax, keepDims: true)
        let d = try sub(m)
        let ss = try d.mul(d).sum(axes: ax, keepDims: keepDims)
        return ss.mul(scalar: 1 / Float(Swift.max(unbiased ? n - 1 : n, 1)))
    }

    /// Maximum along one axis; the gradient goes to the first maximal element.
    /// - Parameters:
    ///   - axis: the dimension to reduce.
    ///   - keepDims: keep it as size 1.
    public func max(axis: Int, keepDims: Bool = false) throws -> Tensor {
        let ax = try normAxes([axis], "max")[0]
        let (outer, n, inner) = splitAt(ax)
        guard n > 0 else { throw EngineError.shape("max: axis \(axis) of shape \(shape) is empty") }
        var kept = shape; kept[ax] = 1
        let out = Tensor(zeros: keepDims ? kept : shape.enumerated().filter { $0.offset != ax }.map { $0.element })
        var arg = [Int](repeating: 0, count: outer * inner)
        let p = ptr, o = out.ptr
        for b in 0..<outer {
            for j in 0..<inner {
                var best = p[b * n * inner + j], bi = 0
                for i in 1..<Swift.max(n, 1) {
                    let v = p[(b * n + i) * inner + j]
                    if v > best || (v.isNaN && !best.isNaN) { best = v; bi = i }
                }
                o[b * inner + j] = best
                arg[b * inner + j] = bi
            }
        }
        let a = self.gradientHandle
        out.record([a]) { g in
            let gx = Tensor(zeros: a.shape)
            let pg = g.ptr, px = gx.ptr
            for b in 0..<outer {
                for j in 0..<inner {
                    px[(b * n + arg[b * inner + j]) * inner + j] += pg[b * inner + j]
                }
            }
            a.addGrad(gx)
        }
        return out
    }

    /// Index of the maximum along `axis`, flattened in row-major order of the remaining dims
    /// (for (N, C) and axis 1: one class index per row). Not differentiable.
    public func argmax(axis: Int) throws -> [Int] {
        let ax = try normAxes([axis], "argmax")[0]
        let (outer, n, inner) = splitAt(ax)
        guard n > 0 else { throw EngineError.shape("argmax: axis \(axis) of shape \(shape) is empty") }
        var arg = [Int](repeating: 0, count: outer * inner)
        let p = ptr
        for b in 0..<outer {
            for j in 0..<inner {
                var best = p[b * n * inner + j], bi = 0
                for i in 1..<Swift.max(n, 1) {
                    let v = p[(b * n + i) * inner + j]
                    if v > best { best = v; bi = i }
                }
                arg[b * inner + j] = bi
            }
        }
        return arg
    }

    /// (product of dims before ax, dim ax, product of dims after ax).
    func splitAt(_ ax: Int) -> (Int, Int, Int) {
        var outer = 1, inner = 1
        for i in 0..<ax { outer *= shape[i] }
        for i in (ax + 1)..<rank { inner *= shape[i] }
        return (outer, shape[ax], inner)
    }
}
