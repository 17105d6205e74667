// The script-side wrapper of an engine Tensor. Other domains return tensors as
// `.object(TensorObject(t))` and read them with `args.object(name, as: TensorObject.self, expected: "a tensor")`
// (or `TensorObject.tensor(args, name, at:)`, which also accepts numbers and nested lists).
import Engine
import Tensor

public final class TensorObject: HostObject {
    public let tensor: Tensor
    public init(_ tensor: Tensor) { self.tensor = tensor }
    public var typeName: String { "Tensor" }

    /// At top level (print, the REPL) the PyTorch-like form of `TensorFormat` with the running
    /// session's `print_options`; inside a list or record one line: `Tensor([2, 3], float32)
    /// [0.1, 0.2, 0.3, ...]`, shape, type and the first few values.
    public func describe(depth: Int) -> String {
        if depth == 0 { return TensorFormat.format(tensor, PrintOptions.active) }
        let n = Swift.min(tensor.count, 6)
        let vals = (0..<n).map { formatNumber(Double(tensor.ptr[$0])) }.joined(separator: ", ")
        let more = tensor.count > n ? ", ..." : ""
        return "Tensor(\(tensor.shape), float32) [\(vals)\(more)]"
    }

    public var memberNames: [String] { TensorObject.members.names }
    public func member(_ name: String) throws -> Value? { try TensorObject.members.value(name, of: self) }

    // MARK: conversions

    /// Wraps a tensor as a script value.
    public static func wrap(_ t: Tensor) -> Value { .object(TensorObject(t)) }

    /// A tensor from a script value: a Tensor, a number (a scalar tensor) or a nested,
    /// rectangular list of numbers.
    public static func from(_ v: Value, what: String) throws -> Tensor {
        switch v {
        case .object(let o):
            if let t = o as? TensorObject { return t.tensor }
        case .number(let d):
            return Tensor(scalar: Float(d))
        case .bool(let b):
            return Tensor(scalar: b ? 1 : 0)
        case .list:
            // The shape comes from the first element at each depth; every row must match it.
            var shape: [Int] = []
            var cur = v
            while case .list(let l) = cur {
                shape.append(l.items.count)
                guard let f = l.items.first else { break }
                cur = f
            }
            var data: [Float] = []
            data.reserveCapacity(shape.reduce(1, *))
            func fill(_ v: Value, _ depth: Int) throws {
                if depth == shape.count {
                    switch v {
                    case .number(let d): data.append(Float(d))
                    case .bool(let b): data.append(b ? 1 : 0)
                    case .object(let o) where (o as? TensorObject)?.tensor.count == 1:
                        data.append((o as? TensorObject)?.tensor.item ?? 0)
                    default:
                        throw RuntimeError.type("\(what): expected a number at depth \(depth) of a nested list, got \(v.typeName)")
                    }
                    return
                }
                guard case .list(let l) = v, l.items.count == shape[depth] else {
                    throw RuntimeError.value("\(what): ragged nested list (expected a list of \(shape[depth]) at depth \(depth), got \(v.typeName == "list" ? "a list of another length" : v.typeName))")
                }
                for item in l.items { try fill(item, depth + 1) }
            }
            try fill(v, 0)
            return try Tensor(shape: shape, data: data)
        default: break
        }
        throw RuntimeError.type("\(what) must be a tensor, a number or a list of numbers, got \(v.typeName)")
    }

    /// The argument `name` (or position `at`) as a tensor (numbers and lists are converted).
    public static func tensor(_ args: Arguments, _ name: String, at: Int? = nil) throws -> Tensor {
        guard let v = args.value(name, at: at) else { throw RuntimeError.arguments("\(args.callee): missing argument '\(name)'") }
        return try from(v, what: "\(args.callee): argument '\(name)'")
    }

    /// Nested lists of the values (a number for a scalar).
    static func toValue(_ t: Tensor) -> Value {
        if t.rank == 0 { return .number(Double(t.item)) }
        func build(_ dim: Int, _ offset: Int) -> Value {
            let n = t.shape[dim]
            if dim == t.rank - 1 {
                return .list(ListBox((0..<n).map { .number(Double(t.ptr[offset + $0])) }))
            }
            let inner = t.shape[(dim + 1)...].reduce(1, *)
            return .list(ListBox((0..<n).map { build(dim + 1, offset + $0 * inner) }))
        }
        return build(0, 0)
    }

    // MARK: operators

    public func binary(_ op: BinaryOp, _ other: Value, selfOnLeft: Bool) throws -> Value? {
        // Tensors combine with tensors, numbers, booleans and numeric lists; anything else (nil,
        // strings, models) is left to the interpreter (e.g. `t == nil` is false).
        switch other {
        case .number, .bool, .list: break
        case .object(let o) where o is TensorObject: break
        default: return nil
        }
        let o = try TensorObject.from(other, what: "the other operand of \(op.rawValue)")
        let (a, b) = selfOnLeft ? (tensor, o) : (o, tensor)
        switch op {
        case .add: return TensorObject.wrap(try a.add(b))
        case .sub: return TensorObject.wrap(try a.sub(b))
        case .mul: return TensorObject.wrap(try a.mul(b))
        case .div: return TensorObject.wrap(try a.div(b))
        case .pow:
            if b.count == 1 && b.rank <= 1 { return TensorObject.wrap(a.pow(b.item)) }
            throw RuntimeError.type("** needs a number exponent for tensors, got a tensor of shape \(b.shape)")
        case .matmul:
            if a.rank == 1 || b.rank == 1 {
                // Vectors: (K) @ (K, N), (M, K) @ (K), (K) @ (K).
                let a2 = a.rank == 1 ? try a.reshape([1, a.count]) : a
                let b2 = b.rank == 1 ? try b.reshape([b.count, 1]) : b
                var r = try Tensor.matmul(a2, b2)
                var shape = r.shape
                if b.rank == 1 { shape.removeLast() }
                if a.rank == 1 { shape.remove(at: shape.count - (b.rank == 1 ? 1 : 2)) }
                r = try r.reshape(shape)
                return TensorObject.wrap(r)
            }
            return TensorObject.wrap(try Tensor.matmul(a, b))
        case .mod:
            // As numbers do: a remainder by zero is an error, not NaN.
            if (0..<b.count).contains(where: { b.ptr[$0] == 0 }) {
                throw RuntimeError.value("modulo by zero (the divisor of % has zeros)")
            }
            return TensorObject.wrap(try a.remainder(b))
        case .eq, .ne, .lt, .le, .gt, .ge:
            let s = try Tensor.compare(a, b, op.rawValue)
            return TensorObject.wrap(s)
        }
    }

    public func negate() throws -> Value? { TensorObject.wrap(tensor.neg()) }

    public func index(_ i: Value) throws -> Value? {
        guard case .number(let d) = i, d == d.rounded() else {
            throw RuntimeError.type("a tensor index must be a whole number, got \(i.typeName == "number" ? i.display() : i.typeName)")
        }
        guard Swift.abs(d) < 1e15 else {
            throw RuntimeError.value("index \(formatNumber(d)) out of range for a tensor of shape \(tensor.shape)")
        }
        guard tensor.rank >= 1 else { throw RuntimeError.value("cannot index a scalar tensor") }
        let n = tensor.shape[0]
        var k = Int(d)
        if k < 0 { k += n }
        guard k >= 0 && k < n else {
            throw RuntimeError.value("index \(Int(d)) out of range for a tensor of shape \(tensor.shape)")
        }
        let row = try tensor.slice(axis: 0, start: k, end: k + 1)
        if tensor.rank == 1 { return .number(Double(row.item)) }
        return TensorObject.wrap(try row.reshape(Array(tensor.shape.dropFirst())))
    }

    public func slice(_ start: Int?, _ end: Int?) throws -> Value? {
        guard tensor.rank >= 1 else { throw RuntimeError.value("cannot slice a scalar tensor") }
        let n = tensor.shape[0]
        return TensorObject.wrap(try tensor.slice(axis: 0, start: start ?? 0, end: end ?? n))
    }

    public var length: Int? { tensor.rank >= 1 ? tensor.shape[0] : nil }
}

extension Tensor {
    /// Elementwise comparison giving 1 where true and 0 elsewhere (not differentiable).
    static func compare(_ a: Tensor, _ b: Tensor, _ op: String) throws -> Tensor {
        let f: (Float, Float) -> Bool
        switch op {
        case "==": f = { $0 == $1 }
        case "!=": f = { $0 != $1 }
        case "<": f = { $0 < $1 }
        case "<=": f = { $0 <= $1 }
        case ">": f = { $0 > $1 }
        default: f = { $0 >= $1 }
        }
        return try Autograd.noGrad {
            // (a - b) broadcasting gives the shape; compare on the expanded operands.
            let s = try a.detached().add(b.detached())
            let ea = try a.detached().expand(to: s.shape), eb = try b.detached().expand(to: s.shape)
            let out = Tensor(zeros: s.shape)
            for i in 0..<out.count { out.ptr[i] = f(ea.ptr[i], eb.ptr[i]) ? 1 : 0 }
            return out
        }
    }
}

extension TensorObject {
    /// Fields and methods (`t.shape`, `t.sum(dim: 1)`), declared once (Members.swift).
    static let members: Members<TensorObject> = {
        var m = Members<TensorObject>("Tensor")
        m.field("shape") { .list(ListBox($0.tensor.shape.map { .number(Double($0)) })) }
        m.field("ndim") { .number(Double($0.tensor.rank)) }
        m.field("T") { o in
            let t = o.tensor
            guard t.rank >= 2 else { return .object(o) }
            return TensorObject.wrap(try t.permute(Array((0..<t.rank).reversed())))
        }
        m.field("grad") { o in o.tensor.grad.map { TensorObject.wrap($0) } ?? .nil_ }
        /// Declares a method whose body gets the tensor.
        func add(_ name: String, _ sig: String, doc: String, _ fn: @escaping (Tensor, Arguments, CallContext) throws -> Value) {
            m.add(name, sig, doc: doc) { o, a, ctx in try fn(o.tensor, a, ctx) }
        }
        func dimArg(_ a: Arguments, _ t: Tensor) throws -> Int? {
            guard a.has("dim", at: 0) else { return nil }
            let d = try a.int("dim", at: 0)
            guard d >= -t.rank && d < t.rank else {
                throw RuntimeError.arguments("\(a.callee): dim \(d) out of range for shape \(t.shape)")
            }
            return d
        }
        add("sum", "t.sum(dim = nil, keepdim: false)", doc: """
            Sum of all elements (a scalar tensor), or along `dim` (keeping it as size 1 with `keepdim:
            true`). Differentiable.
            """) { t, a, _ in
            guard let d = try dimArg(a, t) else { return wrap(t.sum()) }
            return wrap(try t.sum(axes: [d], keepDims: try a.bool("keepdim", default: false)))
        }
        add("mean", "t.mean(dim = nil, keepdim: false)", doc: """
            Mean of all elements (a scalar tensor), or along `dim`. Differentiable.
            """) { t, a, _ in
            guard let d = try dimArg(a, t) else { return wrap(t.mean()) }
            return wrap(try t.mean(axes: [d], keepDims: try a.bool("keepdim", default: false)))
        }
        add("max", "t.max(dim = nil, keepdim: false)", doc: """
            Largest element (a scalar tensor), or the maxima along `dim`. Differentiable (the gradient goes
            to the first maximum).
            """) { t, a, _ in
            guard t.count > 0 else { throw RuntimeError.value("Tensor.max: the tensor is empty") }
            guard let d = try dimArg(a, t) else { return wrap(try t.reshape([-1]).max(axis: 0)) }
            return wrap(try t.max(axis: d, keepDims: try a.bool("keepdim", default: false)))
        }
        add("min", "t.min(dim = nil, keepdim: false)", doc: """
            Smallest element (a scalar tensor), or the minima along `dim`. Differentiable.
            """) { t, a, _ in
            guard t.count > 0 else { throw RuntimeError.value("Tensor.min: the tensor is empty") }
            guard let d = try dimArg(a, t) else { return wrap(try t.neg().reshape([-1]).max(axis: 0).neg()) }
            return wrap(try t.neg().max(axis: d, keepDims: try a.bool("keepdim", default: false)).neg())
        }
        add("argmax", "t.argmax(dim = -1)", doc: """
            Indices of the maxima along `dim` (default the last), as a tensor of whole numbers without that
            dim: for logits (N, C), `t.argmax(1)` is the predicted class of each row.
            """) { t, a, _ in
            guard t.rank >= 1 else { throw RuntimeError.value("Tensor.argmax: needs at least one dimension, got a scalar") }
            let d = try dimArg(a, t) ?? -1
            let idx = try t.argmax(axis: d)
            let ax = d < 0 ? d + t.rank : d
            var shape = t.shape
            shape.remove(at: ax)
            return wrap(try Tensor(shape: shape, data: idx.map { Float($0) }))
        }
        add("reshape", "t.reshape(dims...)", doc: """
            The same values with a new shape, given as numbers or one list; one dimension may be -1
            (inferred). Differentiable.
            """) { t, a, _ in
            return wrap(try t.reshape(try TensorBuiltins.shapeArgs(a, allowMinusOne: true)))
        }
        add("flatten", "t.flatten()", doc: "The values as a 1-D tensor. Differentiable.") { t, a, _ in
            return wrap(try t.reshape([-1]))
        }
        add("item", "t.item()", doc: "The value of a one-element tensor as a number.") { t, a, _ in
            guard t.count == 1 else { throw RuntimeError.value("Tensor.item: needs exactly one element, got shape \(t.shape)") }
            return .number(Double(t.item))
        }
        add("tolist", "t.tolist()", doc: """
            The values as (nested) lists of numbers; a scalar tensor gives a number.
            """) { t, a, _ in
            return toValue(t)
        }
        add("detach", "t.detach()", doc: "The same values cut off from gradient tracking (shares memory).") { t, a, _ in
            return wrap(t.detached())
        }
        for (name, doc, f) in [
            ("abs", "Absolute values.", { (t: Tensor) in t.abs() }),
            ("exp", "e to the power of each element.", { (t: Tensor) in t.exp() }),
            ("log", "Natural logarithm of each element.", { (t: Tensor) in t.log() }),
            ("sqrt", "Square root of each element.", { (t: Tensor) in t.sqrt() }),
            ("sign", "-1, 0 or 1 for each element (gradient zero).", { (t: Tensor) in t.sign() }),
        ] as [(String, String, (Tensor) -> Tensor)] {
            add(name, "t.\(name)()", doc: doc + " Differentiable.") { t, a, _ in
                return wrap(f(t))
            }
        }
        add("clamp", "t.clamp(min = nil, max = nil)", doc: """
            Each element limited to [min, max] (either may be omitted).
            """) { t, a, _ in
            let lo = a.has("min", at: 0) ? Float(try a.number("min", at: 0)) : nil
            let hi = a.has("max", at: 1) ? Float(try a.number("max", at: 1)) : nil
            return wrap(t.clamp(min: lo, max: hi))
        }
        add("softmax", "t.softmax(dim = -1)", doc: "Softmax along `dim` (default the last).") { t, a, _ in
            guard t.rank >= 1 else { throw RuntimeError.value("Tensor.softmax: needs at least one dimension") }
            return wrap(try t.softmax(axis: try dimArg(a, t) ?? -1))
        }
        return m
    }()
}
