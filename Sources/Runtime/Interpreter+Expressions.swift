// Evaluating expressions.
import Lang

extension Interpreter {
    func eval(_ e: Expr, _ env: Environment) throws -> Value {
        switch e.kind {
        case .number(let d): return .number(d)
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .nil_: return .nil_

        case .name(let n):
            if let v = env.lookup(n) { return v }
            if let b = builtins.byName[n] { return .builtin(b) }
            throw fail(.name(unknownName(n, env)), e.span)

        case .interpolation(let parts):
            var s = ""
            for p in parts {
                switch p {
                case .text(let t): s += t
                case .expr(let x): s += try eval(x, env).display()
                }
                if s.utf8.count > limits.collectionSize { throw fail(.value("string too long"), e.span) }
            }
            return .string(s)

        case .list(let items):
            var out: [Value] = []
            out.reserveCapacity(items.count)
            for x in items { out.append(try eval(x, env)) }
            return .list(ListBox(out))

        case .record(let fields):
            let r = RecordBox()
            for f in fields { r[f.key] = try eval(f.value, env) }
            return .record(r)

        case .unary(let op, let x):
            let v = try eval(x, env)
            return try located(e.span) { try unary(op, v) }

        case .binary(let op, let l, let r):
            let a = try eval(l, env)
            let b = try eval(r, env)
            // Fast path for numbers.
            if case .number(let x) = a, case .number(let y) = b {
                switch op {
                case .add: return .number(x + y)
                case .sub: return .number(x - y)
                case .mul: return .number(x * y)
                case .lt: return .bool(x < y)
                case .le: return .bool(x <= y)
                case .gt: return .bool(x > y)
                case .ge: return .bool(x >= y)
                case .eq: return .bool(x == y)
                case .ne: return .bool(x != y)
                default: break
                }
            }
            return try located(e.span) { try binary(op, a, b) }

        case .logical(let isAnd, let l, let r):
            let a = try eval(l, env)
            guard case .bool(let x) = a else {
                throw fail(.type("'\(isAnd ? "and" : "or")' needs true or false, got \(a.typeName)"), l.span)
            }
            if isAnd && !x { return .bool(false) }
            if !isAnd && x { return .bool(true) }
            let b = try eval(r, env)
            guard case .bool = b else {
                throw fail(.type("'\(isAnd ? "and" : "or")' needs true or false, got \(b.typeName)"), r.span)
            }
            return b

        case .call(let calleeExpr, let argExprs):
            let callee = try eval(calleeExpr, env)
            var positional: [Value] = []
            positional.reserveCapacity(argExprs.count)
            var named: [(name: String, value: Value)] = []
            for a in argExprs {
                let v = try eval(a.value, env)
                if let n = a.name { named.append((n, v)) } else { positional.append(v) }
            }
            return try callValue(callee, Arguments(positional, named: named), site: e.span)

        case .member(let objExpr, let name, let nameSpan):
            let obj = try eval(objExpr, env)
            return try located(nameSpan) { try member(obj, name) }

        case .index(let objExpr, let indexExpr):
            let obj = try eval(objExpr, env)
            let idx = try eval(indexExpr, env)
            return try located(e.span) { try index(obj, idx) }

        case .slice(let objExpr, let loExpr, let hiExpr):
            let obj = try eval(objExpr, env)
            let lo = try loExpr.map { try eval($0, env) }
            let hi = try hiExpr.map { try eval($0, env) }
            return try located(e.span) { try slice(obj, lo, hi) }

        case .function(let decl):
            return .function(Closure(decl: decl, env: env))
        }
    }

    /// "unknown name 'x'" with the nearest visible name suggested.
    func unknownName(_ n: String, _ env: Environment) -> String {
        var msg = "unknown name '\(n)'"
        let candidates = env.allNames + globals.allNames + builtins.order
        if let s = nearest(n, in: candidates) { msg += "; did you mean '\(s)'?" }
        return msg
    }

    /// `obj.name`.
    func member(_ obj: Value, _ name: String) throws -> Value {
        switch obj {
        case .record(let r):
            if let v = r[name] { return v }
            var msg = "the record has no field '\(name)'"
            if let s = nearest(name, in: r.keys) { msg += "; did you mean '\(s)'?" }
            if !r.keys.isEmpty { msg += " (fields: \(r.keys.prefix(20).joined(separator: ", ")))" }
            throw RuntimeError.name(msg)
        case .module(let m):
            if let v = m.env.values[name] { return v }
            var msg = "module '\(m.name)' has no '\(name)'"
            if let s = nearest(name, in: m.exports) { msg += "; did you mean '\(s)'?" }
            throw RuntimeError.name(msg)
        case .object(let o):
            if let v = try o.member(name) { return v }
            var msg = "a \(o.typeName) has no member '\(name)'"
            if let s = nearest(name, in: o.memberNames) { msg += "; did you mean '\(s)'?" }
            throw RuntimeError.name(msg)
        default:
            throw RuntimeError.type("a \(obj.typeName) has no fields (looked up '.\(name)')")
        }
    }
}
