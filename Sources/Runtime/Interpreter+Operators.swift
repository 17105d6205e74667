// Operators, indexing and slicing on values (host objects supply their own).
import Foundation
import Lang

extension Interpreter {
    func unary(_ op: UnaryOperator, _ v: Value) throws -> Value {
        switch (op, v) {
        case (.negate, .number(let d)): return .number(-d)
        case (.plus, .number): return v
        case (.not, .bool(let b)): return .bool(!b)
        case (.negate, .object(let o)):
            if let r = try o.negate() { return r }
            throw RuntimeError.type("cannot negate a \(o.typeName)")
        case (.plus, .object): return v
        case (.not, _): throw RuntimeError.type("'not' needs true or false, got \(v.typeName)")
        default: throw RuntimeError.type("cannot apply '\(op.rawValue)' to a \(v.typeName)")
        }
    }

    func binary(_ op: BinaryOperator, _ a: Value, _ b: Value) throws -> Value {
        // Host objects first (tensor + number, number * tensor, tensor == tensor, ...).
        if let hop = BinaryOp(rawValue: op.rawValue) {
            if case .object(let o) = a, let r = try o.binary(hop, b, selfOnLeft: true) { return r }
            if case .object(let o) = b, let r = try o.binary(hop, a, selfOnLeft: false) { return r }
        }
        switch op {
        case .eq: return .bool(try a.equals(b))
        case .ne: return .bool(try !a.equals(b))
        case .in: return .bool(try contains(b, a))
        default: break
        }
        switch (a, b) {
        case (.number(let x), .number(let y)):
            switch op {
            case .add: return .number(x + y)
            case .sub: return .number(x - y)
            case .mul: return .number(x * y)
            case .div:
                if y == 0 { throw RuntimeError.value("division by zero") }
                return .number(x / y)
            case .mod:
                if y == 0 { throw RuntimeError.value("modulo by zero") }
                let r = x - y * (x / y).rounded(.down)
                return .number(r)
            case .pow: return .number(Foundation.pow(x, y))
            case .lt: return .bool(x < y)
            case .le: return .bool(x <= y)
            case .gt: return .bool(x > y)
            case .ge: return .bool(x >= y)
            default: break
            }
        case (.string(let x), .string(let y)):
            switch op {
            case .add:
                if x.utf8.count + y.utf8.count > limits.collectionSize { throw RuntimeError.value("string too long") }
                return .string(x + y)
            case .lt: return .bool(x < y)
            case .le: return .bool(x <= y)
            case .gt: return .bool(x > y)
            case .ge: return .bool(x >= y)
            default: break
            }
        case (.list(let x), .list(let y)) where op == .add:
            if x.items.count + y.items.count > limits.collectionSize { throw RuntimeError.value("list too long") }
            return .list(ListBox(x.items + y.items))
        default: break
        }
        var msg = "cannot apply '\(op.rawValue)' to \(a.typeName) and \(b.typeName)"
        if op == .add, case .string = a { msg += " (build strings with \"...{x}...\" or str(x))" }
        else if op == .add, case .string = b { msg += " (build strings with \"...{x}...\" or str(x))" }
        throw RuntimeError.type(msg)
    }

    /// `needle in haystack`.
    func contains(_ haystack: Value, _ needle: Value) throws -> Bool {
        switch haystack {
        case .list(let l):
            for x in l.items where try x.equals(needle) { return true }
            return false
        case .string(let s):
            guard case .string(let n) = needle else {
                throw RuntimeError.type("'in' on a string needs a string on the left, got \(needle.typeName)")
            }
            return n.isEmpty || s.contains(n)
        case .record(let r):
            guard case .string(let n) = needle else {
                throw RuntimeError.type("'in' on a record needs a field name (string) on the left, got \(needle.typeName)")
            }
            return r[n] != nil
        default:
            throw RuntimeError.type("'in' needs a list, string or record on the right, got \(haystack.typeName)")
        }
    }

    /// A whole-number index, counted from the end when negative.
    func position(_ i: Value, count: Int, what: String) throws -> Int {
        guard case .number(let d) = i else {
            throw RuntimeError.type("a \(what) index must be a number, got \(i.typeName)")
        }
        guard d == d.rounded(), abs(d) < 1e15 else {
            throw RuntimeError.type("a \(what) index must be a whole number, got \(formatNumber(d))")
        }
        let n = Int(d)
        let k = n < 0 ? n + count : n
        guard k >= 0 && k < count else {
            throw RuntimeError.value("index \(n) out of range for a \(what) of length \(count)")
        }
        return k
    }

    func index(_ obj: Value, _ i: Value) throws -> Value {
        switch obj {
        case .list(let l):
            return l.items[try position(i, count: l.items.count, what: "list")]
        case .string(let s):
            let chars = Array(s)
            return .string(String(chars[try position(i, count: chars.count, what: "string")]))
        case .record(let r):
            guard case .string(let k) = i else {
                throw RuntimeError.type("a record is indexed by a field name (string), got \(i.typeName)")
            }
            if let v = r[k] { return v }
            var msg = "the record has no field \"\(k)\""
            if let s = nearest(k, in: r.keys) { msg += "; did you mean \"\(s)\"?" }
            throw RuntimeError.name(msg)
        case .object(let o):
            if let v = try o.index(i) { return v }
            throw RuntimeError.type("a \(o.typeName) cannot be indexed with a \(i.typeName)")
        default:
            throw RuntimeError.type("a \(obj.typeName) cannot be indexed")
        }
    }

    func setIndex(_ obj: Value, _ i: Value, _ v: Value) throws {
        switch obj {
        case .list(let l):
            l.items[try position(i, count: l.items.count, what: "list")] = v
        case .record(let r):
            guard case .string(let k) = i else {
                throw RuntimeError.type("a record is indexed by a field name (string), got \(i.typeName)")
            }
            r[k] = v
        default:
            throw RuntimeError.type("cannot assign to an element of a \(obj.typeName)")
        }
    }

    /// Slice bounds, Python style: negative counts from the end, out-of-range clamps.
    func bounds(_ lo: Value?, _ hi: Value?, count: Int) throws -> Range<Int> {
        func bound(_ v: Value?, _ def: Int) throws -> Int {
            guard let v = v, !isNil(v) else { return def }
            guard case .number(let d) = v, d == d.rounded(), abs(d) < 1e15 else {
                throw RuntimeError.type("slice bounds must be whole numbers, got \(v.typeName == "number" ? formatNumber({ if case .number(let d) = v { return d }; return 0 }()) : v.typeName)")
            }
            let n = Int(d)
            return max(0, min(count, n < 0 ? n + count : n))
        }
        let a = try bound(lo, 0), b = try bound(hi, count)
        return a..<max(a, b)
    }

    func slice(_ obj: Value, _ lo: Value?, _ hi: Value?) throws -> Value {
        switch obj {
        case .list(let l):
            return .list(ListBox(Array(l.items[try bounds(lo, hi, count: l.items.count)])))
        case .string(let s):
            let chars = Array(s)
            return .string(String(chars[try bounds(lo, hi, count: chars.count)]))
        case .object(let o):
            func opt(_ v: Value?) throws -> Int? {
                guard let v = v, !isNil(v) else { return nil }
                guard case .number(let d) = v, d == d.rounded(), abs(d) < 1e15 else {
                    throw RuntimeError.type("slice bounds must be whole numbers, got \(v.typeName)")
                }
                return Int(d)
            }
            if let r = try o.slice(try opt(lo), try opt(hi)) { return r }
            throw RuntimeError.type("a \(o.typeName) cannot be sliced")
        default:
            throw RuntimeError.type("a \(obj.typeName) cannot be sliced")
        }
    }
}

@inline(__always) func isNil(_ v: Value) -> Bool {
    if case .nil_ = v { return true }
    return false
}
