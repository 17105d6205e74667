// Builtins: tensors and autograd (creation, math, reductions, losses, grad, no_grad, seed, threads).
import Engine
import Tensor
import Foundation

enum TensorBuiltins {
    static func wrap(_ t: Tensor) -> Value { TensorObject.wrap(t) }

    /// A shape given as numbers (`zeros(2, 3)`) or one list (`zeros([2, 3])`).
    static func shapeArgs(_ a: Arguments, allowMinusOne: Bool = false) throws -> [Int] {
        // Dimensions as separate values: at most 8 (a list may hold more).
        guard a.positional.count <= 8 else {
            throw RuntimeError.arguments("\(a.callee) takes at most 8 positional arguments, got \(a.positional.count)")
        }
        var items: [Value] = a.positional
        if items.count == 1, case .list(let l) = items[0] { items = l.items }
        let dims = try items.enumerated().map { i, v in
            guard case .number(let d) = v, d == d.rounded() else {
                let got = { if case .number(let d) = v { return formatNumber(d) }; return v.typeName }()
                throw RuntimeError.type("\(a.callee): dimension \(i) must be a whole number, got \(got)")
            }
            guard d >= 0 || (allowMinusOne && d == -1) else {
                throw RuntimeError.arguments("\(a.callee): dimension \(i) must not be negative, got \(formatNumber(d))")
            }
            guard d <= Double(Tensor.maxElements) else {
                throw RuntimeError.arguments("\(a.callee): dimension \(i) is too large, got \(formatNumber(d)) (a tensor holds at most \(Tensor.maxElements) elements)")
            }
            return Int(d)
        }
        // -1 (inferred) counts as 1 here; reshape checks the rest against the tensor.
        guard let n = Tensor.elementCount(dims.map { Swift.max($0, 1) }), n <= Tensor.maxElements else {
            throw RuntimeError.arguments("\(a.callee): shape \(dims) has too many elements (a tensor holds at most \(Tensor.maxElements))")
        }
        return dims
    }

    /// Class labels from a list of whole numbers or a 1-D tensor of them.
    static func labels(_ a: Arguments, _ name: String, at: Int) throws -> [Int] {
        guard let v = a.value(name, at: at) else { throw RuntimeError.arguments("\(a.callee): missing argument '\(name)'") }
        let t = try TensorObject.from(v, what: "\(a.callee): argument '\(name)'")
        guard t.rank <= 1 else { throw RuntimeError.type("\(a.callee): '\(name)' must be a list or 1-D tensor of class indices, got shape \(t.shape)") }
        return try t.toArray().map { f in
            guard f == f.rounded(), f >= 0, f < 1e9 else {
                throw RuntimeError.value("\(a.callee): '\(name)' must hold whole non-negative class indices, got \(f)")
            }
            return Int(f)
        }
    }

    static func register(into t: inout BuiltinTable) {
        registerCreation(into: &t)
        registerMath(into: &t)
        registerAutograd(into: &t)
        registerPrinting(into: &t)
    }

    // MARK: - Printing

    static func registerPrinting(into t: inout BuiltinTable) {
        t.add("print_options", "print_options(precision: nil, threshold: nil)",
              doc: """
                  How tensors print in this session (as PyTorch's set_printoptions).

                  `precision` significant digits of the largest shown value (default 4, 1 to 17),
                  `threshold` the number of elements beyond which a tensor prints summarised with `...` (the
                  first and last 3 entries of each dimension; default 1000). Only the arguments given
                  change; the settings belong to this session (another interpreter keeps its own). Returns
                  the settings now in force as a record {precision, threshold}.
                  """) { a, ctx in
            guard let interp = ctx as? Interpreter else { throw RuntimeError.value("print_options: needs a session") }
            let o = interp.printOptions
            if a.has("precision") {
                let p = try a.int("precision")
                guard (1...17).contains(p) else { throw RuntimeError.arguments("print_options: precision must be between 1 and 17, got \(p)") }
                o.precision = p
            }
            if a.has("threshold") {
                let n = try a.int("threshold")
                guard n >= 0 else { throw RuntimeError.arguments("print_options: threshold must be >= 0, got \(n)") }
                o.threshold = n
            }
            return .record(RecordBox([("precision", .number(Double(o.precision))), ("threshold", .number(Double(o.threshold)))]))
        }
    }

    // MARK: - Creation

    static func registerCreation(into t: inout BuiltinTable) {
        t.add("tensor", "tensor(values)",
              doc: """
                  A float32 tensor from a number or a nested, rectangular list of numbers: `tensor([[1, 2],
                  [3, 4]])` has shape [2, 2]. A tensor argument is returned as it is.
                  """) { a, _ in
            return wrap(try TensorObject.tensor(a, "values", at: 0))
        }
        t.add("zeros", "zeros(dims...)", doc: """
            A tensor of zeros with the given shape: `zeros(2, 3)` or `zeros([2, 3])`.
            """) { a, _ in
            return wrap(Tensor(zeros: try shapeArgs(a)))
        }
        t.add("ones", "ones(dims...)", doc: """
            A tensor of ones with the given shape: `ones(2, 3)` or `ones([2, 3])`.
            """) { a, _ in
            return wrap(Tensor(shape: try shapeArgs(a), repeating: 1))
        }
        t.add("rand", "rand(dims...)", doc: """
            A tensor of uniform random numbers in [0, 1) with the given shape, from the global generator
            (see `seed`).
            """) { a, _ in
            return wrap(Tensor.rand(try shapeArgs(a)))
        }
        t.add("randn", "randn(dims...)", doc: """
            A tensor of standard normal random numbers with the given shape, from the global generator (see
            `seed`).
            """) { a, _ in
            return wrap(Tensor.randn(try shapeArgs(a)))
        }
        t.add("arange", "arange(start = 0, end, step = 1)",
              doc: """
                  A 1-D tensor of the numbers start, start + step, ... below `end` (start defaults to 0):
                  `arange(4)` is [0, 1, 2, 3].
                  """) { a, _ in
            var start = 0.0, end: Double
            if a.positional.count >= 2 || a.has("start") {
                start = try a.number("start", at: 0)
                end = try a.number("end", at: 1)
            } else {
                end = try a.number("end", at: 0)
            }
            let step = try a.number("step", at: 2, default: 1)
            guard step != 0 else { throw RuntimeError.arguments("arange: step must not be 0") }
            let count = Swift.max(0, ((end - start) / step).rounded(.up))
            guard count <= 100_000_000 else {
                throw RuntimeError.arguments("arange: \(formatNumber(count)) elements is too many (at most 100000000)")
            }
            let n = Int(count)
            return wrap(try Tensor(shape: [n], data: (0..<n).map { Float(start + Double($0) * step) }))
        }
        t.add("onehot", "onehot(labels, classes)",
              doc: """
                  A (N, classes) tensor with 1 at [i, labels[i]] and 0 elsewhere; `labels` is a list or 1-D
                  tensor of class indices.
                  """) { a, _ in
            let l = try labels(a, "labels", at: 0)
            let c = try a.int("classes", at: 1)
            guard c >= 1 else { throw RuntimeError.arguments("onehot: classes must be at least 1, got \(c)") }
            try engine { try Tensor.checkSize([l.count, c], "onehot") }
            let out = Tensor(zeros: [l.count, c])
            for (i, k) in l.enumerated() {
                guard k < c else { throw RuntimeError.value("onehot: label \(k) is out of range for \(c) classes") }
                out.ptr[i * c + k] = 1
            }
            return wrap(out)
        }
        t.add("seed", "seed(n)",
              doc: """
                  Restarts the global random generator from the whole number `n`, so rand, randn, shuffling,
                  augmentation and random starts repeat exactly.
                  """) { a, _ in
            let n = try a.int("n", at: 0)
            RNG.global.reseed(UInt64(bitPattern: Int64(n)))
            return .nil_
        }
        t.add("threads", "threads(n = nil)",
              doc: """
                  Sets the number of CPU threads the engine uses (its thread pool, which also splits the
                  matrix products; OpenBLAS itself runs single-threaded) and returns the number in use;
                  without an argument only returns it.

                  The default comes from the ADV_THREADS environment variable or the number of cores.
                  """) { a, _ in
            if a.has("n", at: 0) {
                let n = try a.int("n", at: 0)
                guard n >= 1 && n <= 1024 else { throw RuntimeError.arguments("threads: n must be between 1 and 1024, got \(n)") }
                Parallel.threads = n
            }
            return .number(Double(Parallel.threads))
        }
    }

    // MARK: - Math

    static func registerMath(into t: inout BuiltinTable) {
        let unary: [(String, String, (Tensor) -> Tensor)] = [
            ("abs", "Absolute value of each element (gradient sign(x)).", { $0.abs() }),
            ("sign", "-1, 0 or 1 for each element; its gradient is zero (FGSM uses sign of the gradient).", { $0.sign() }),
            ("exp", "e to the power of each element.", { $0.exp() }),
            ("log", "Natural logarithm of each element (log 0 = -inf).", { $0.log() }),
            ("sqrt", "Square root of each element.", { $0.sqrt() }),
            ("relu", "max(x, 0) for each element.", { $0.relu() }),
            ("gelu", "GELU, exact erf form, of each element.", { $0.gelu() }),
        ]
        for (name, doc, f) in unary {
            t.add(name, "\(name)(x)", doc: doc + " `x` is a tensor; differentiable.") { a, _ in
                return wrap(f(try TensorObject.tensor(a, "x", at: 0)))
            }
        }
        t.add("clamp", "clamp(x, min = nil, max = nil)",
              doc: """
                  Each element of `x` limited to [min, max]; either bound may be omitted, and each may be a
                  number or a tensor broadcastable to x (e.g. the eps-ball around an image).

                  Differentiable where the bound is not active.
                  """) { a, _ in
            var x = try TensorObject.tensor(a, "x", at: 0)
            for (name, pos, isMin) in [("min", 1, true), ("max", 2, false)] where a.has(name, at: pos) {
                if let v = a.value(name, at: pos), case .number(let d) = v {
                    x = isMin ? x.clamp(min: Float(d), max: nil) : x.clamp(min: nil, max: Float(d))
                } else {
                    let b = try TensorObject.tensor(a, name, at: pos)
                    x = isMin ? try x.maximum(b) : try x.minimum(b)
                }
            }
            return wrap(x)
        }
        t.add("maximum", "maximum(a, b)", doc: """
            Elementwise larger of two tensors or numbers (broadcasting). Differentiable.
            """) { a, _ in
            return wrap(try TensorObject.tensor(a, "a", at: 0).maximum(TensorObject.tensor(a, "b", at: 1)))
        }
        t.add("minimum", "minimum(a, b)", doc: """
            Elementwise smaller of two tensors or numbers (broadcasting). Differentiable.
            """) { a, _ in
            return wrap(try TensorObject.tensor(a, "a", at: 0).minimum(TensorObject.tensor(a, "b", at: 1)))
        }
        t.add("where", "where(cond, a, b)",
              doc: """
                  Elementwise choice: `a` where `cond` is non-zero, `b` elsewhere; the three broadcast
                  together (comparisons like `x > 0` give 0/1 tensors).

                  Differentiable in a and b.
                  """) { a, _ in
            return wrap(try Tensor.where(TensorObject.tensor(a, "cond", at: 0), TensorObject.tensor(a, "a", at: 1),
                                         TensorObject.tensor(a, "b", at: 2)))
        }
        t.add("matmul", "matmul(a, b)", doc: """
            Matrix product a @ b with batch broadcasting: (..., M, K) @ (..., K, N). Same as the `@`
            operator.
            """) { a, _ in
            return wrap(try Tensor.matmul(TensorObject.tensor(a, "a", at: 0), TensorObject.tensor(a, "b", at: 1)))
        }
        t.add("sum", "sum(x, dim = nil)", doc: """
            Sum of all elements of `x` (a scalar tensor), or along `dim`. Differentiable.
            """) { a, _ in
            let x = try TensorObject.tensor(a, "x", at: 0)
            if a.has("dim", at: 1) { return wrap(try x.sum(axes: [try a.int("dim", at: 1)])) }
            return wrap(x.sum())
        }
        t.add("mean", "mean(x, dim = nil)", doc: """
            Mean of all elements of `x` (a scalar tensor), or along `dim`. Differentiable.
            """) { a, _ in
            let x = try TensorObject.tensor(a, "x", at: 0)
            if a.has("dim", at: 1) { return wrap(try x.mean(axes: [try a.int("dim", at: 1)])) }
            return wrap(x.mean())
        }
        t.add("softmax", "softmax(x, dim = -1)", doc: """
            Softmax of `x` along `dim` (default the last): exp(x) / sum(exp(x)), computed stably.
            Differentiable.
            """) { a, _ in
            return wrap(try TensorObject.tensor(a, "x", at: 0).softmax(axis: try a.int("dim", at: 1, default: -1)))
        }
        t.add("log_softmax", "log_softmax(x, dim = -1)", doc: """
            Logarithm of the softmax of `x` along `dim` (default the last), computed stably. Differentiable.
            """) { a, _ in
            return wrap(try TensorObject.tensor(a, "x", at: 0).logSoftmax(axis: try a.int("dim", at: 1, default: -1)))
        }
        t.add("norm", "norm(x, p = 2, dim = nil)",
              doc: """
                  The p-norm of `x` (p = 1, 2 or "inf"): over all elements (a scalar tensor), or along `dim`
                  (e.g. per-example norms of a perturbation with `norm(d.reshape(n, -1), dim: 1)`).

                  Differentiable.
                  """) { a, _ in
            var x = try TensorObject.tensor(a, "x", at: 0)
            var p = 2.0
            if let v = a.value("p", at: 1) {
                switch v {
                case .number(let d): p = d
                case .string(let s) where s == "inf": p = .infinity
                case .nil_: break
                default: throw RuntimeError.type("norm: p must be 1, 2 or \"inf\", got \(v.typeName)")
                }
            }
            guard p == 1 || p == 2 || p == .infinity else { throw RuntimeError.arguments("norm: p must be 1, 2 or \"inf\", got \(p)") }
            var axes: [Int] = []
            if a.has("dim", at: 2) {
                axes = [try a.int("dim", at: 2)]
            } else {
                x = try x.reshape([-1])
                axes = [0]
            }
            guard x.rank >= 1 else { throw RuntimeError.value("norm: needs at least one dimension") }
            let r: Tensor
            switch p {
            case 1: r = try x.abs().sum(axes: axes)
            case 2: r = try x.mul(x).sum(axes: axes).sqrt()
            default:
                guard x.count > 0 else { throw RuntimeError.value("norm: inf-norm of an empty tensor") }
                r = try x.abs().max(axis: axes[0])
            }
            return wrap(r)
        }
        t.add("cross_entropy", "cross_entropy(logits, labels, smoothing: 0, reduction: \"mean\")",
              doc: """
                  Cross-entropy loss of `logits` (N, C) against `labels`: a list or 1-D tensor of N class
                  indices, or an (N, C) tensor of target probabilities (soft labels).

                  `smoothing` applies label smoothing to hard labels; `reduction: "none"` gives one loss per
                  example (N,) instead of the mean. Differentiable in the logits.
                  """) { a, _ in
            let logits = try TensorObject.tensor(a, "logits", at: 0)
            let smoothing = try a.number("smoothing", default: 0)
            let reduction = try a.choice("reduction", ["mean", "none"], default: "mean")
            guard let lv = a.value("labels", at: 1) else { throw RuntimeError.arguments("cross_entropy: missing argument 'labels'") }
            let lt = try TensorObject.from(lv, what: "cross_entropy: argument 'labels'")
            if lt.rank == 2 {
                guard reduction == "mean", smoothing == 0 else {
                    throw RuntimeError.arguments("cross_entropy: soft labels support neither smoothing nor reduction: \"none\"")
                }
                return wrap(try Tensor.crossEntropy(logits, targets: lt))
            }
            let l = try labels(a, "labels", at: 1)
            if logits.rank == 2 {
                for k in l where k >= logits.shape[1] {
                    throw RuntimeError.value("cross_entropy: label \(k) is out of range for logits \(logits.shape)")
                }
            }
            if reduction == "none" {
                guard smoothing == 0 else { throw RuntimeError.arguments("cross_entropy: smoothing needs reduction: \"mean\"") }
                return wrap(try Tensor.crossEntropyPerExample(logits, labels: l))
            }
            return wrap(try Tensor.crossEntropy(logits, labels: l, labelSmoothing: Float(smoothing)))
        }
    }

    // MARK: - Autograd

    static func registerAutograd(into t: inout BuiltinTable) {
        t.add("grad", "grad(f, x)",
              doc: """
                  The gradient df/dx of a script function `f` of one tensor argument at `x`: calls `f(x)`
                  with gradient tracking on (even inside no_grad) and returns a tensor shaped like x.

                  `f` must return a one-element tensor (e.g. a loss). Model parameters' own gradients are
                  left untouched. FGSM: `x + eps * sign(grad(fn(z) { return cross_entropy(m(z), y) }, x))`.
                  """) { a, ctx in
            guard let f = a.value("f", at: 0) else { throw RuntimeError.arguments("grad: missing argument 'f'") }
            let x0 = try TensorObject.tensor(a, "x", at: 1)
            let x = x0.copy()
            x.requiresGrad = true
            let saved = Autograd.isEnabled
            Autograd.isEnabled = true
            defer { Autograd.isEnabled = saved }
            let r = try ctx.call(f, Arguments([wrap(x)], callee: "grad(f)"))
            guard case .object(let o) = r, let y = (o as? TensorObject)?.tensor else {
                if case .number = r { return wrap(Tensor(zeros: x.shape)) }
                throw RuntimeError.type("grad: f must return a tensor (a loss), got \(r.typeName)")
            }
            guard y.count == 1 else {
                throw RuntimeError.value("grad: f must return a one-element tensor (a loss), got shape \(y.shape); use .sum() or .mean()")
            }
            return wrap(try Autograd.gradients(of: y, wrt: [x])[0])
        }
        t.add("no_grad", "no_grad(f)",
              doc: """
                  Calls the function `f` (no arguments) without recording gradients and returns its result:
                  faster and lighter for evaluation.
                  """) { a, ctx in
            guard let f = a.value("f", at: 0) else { throw RuntimeError.arguments("no_grad: missing argument 'f'") }
            return try Autograd.noGrad { try ctx.call(f, Arguments([], callee: "no_grad(f)")) }
        }
    }
}
