// An S-expression dump of the syntax tree, for golden tests and debugging.

public enum ASTPrinter {
    /// One line per top-level statement.
    public static func dump(_ stmts: [Stmt]) -> String {
        stmts.map { stmt($0) }.joined(separator: "\n")
    }

    static func block(_ b: [Stmt]) -> String {
        "(block" + b.map { " " + stmt($0) }.joined() + ")"
    }

    public static func stmt(_ s: Stmt) -> String {
        switch s.kind {
        case .expression(let e): return expr(e)
        case .assign(let t, let op, let v): return "(\(op.map { $0.rawValue } ?? "")= \(expr(t)) \(expr(v)))"
        case .function(let d): return function(d)
        case .if_(let branches, let elseBody):
            var out = "(if"
            for (c, b) in branches { out += " \(expr(c)) \(block(b))" }
            if let e = elseBody { out += " else \(block(e))" }
            return out + ")"
        case .for_(let v, _, let it, let body): return "(for \(v) \(expr(it)) \(block(body)))"
        case .while_(let c, let body): return "(while \(expr(c)) \(block(body)))"
        case .break_: return "(break)"
        case .continue_: return "(continue)"
        case .return_(let e): return e.map { "(return \(expr($0)))" } ?? "(return)"
        case .use(let t, let alias):
            let target: String
            switch t {
            case .name(let n): target = n
            case .path(let p): target = "\"\(p)\""
            }
            return "(use \(target)\(alias.map { " as \($0)" } ?? ""))"
        }
    }

    static func function(_ d: FunctionDecl) -> String {
        let ps = d.params.map { p in p.defaultValue.map { "(\(p.name) \(expr($0)))" } ?? p.name }
        return "(fn \(d.name ?? "_") (\(ps.joined(separator: " "))) \(block(d.body)))"
    }

    public static func expr(_ e: Expr) -> String {
        switch e.kind {
        case .number(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)"
        case .string(let s): return "\"\(s)\""
        case .interpolation(let parts):
            return "(str" + parts.map { p -> String in
                switch p {
                case .text(let t): return " \"\(t)\""
                case .expr(let x): return " " + expr(x)
                }
            }.joined() + ")"
        case .bool(let b): return b ? "true" : "false"
        case .nil_: return "nil"
        case .name(let n): return n
        case .list(let items): return "(list" + items.map { " " + expr($0) }.joined() + ")"
        case .record(let fields): return "(record" + fields.map { " \($0.key):\(expr($0.value))" }.joined() + ")"
        case .unary(let op, let x): return "(\(op.rawValue) \(expr(x)))"
        case .binary(let op, let a, let b): return "(\(op.rawValue) \(expr(a)) \(expr(b)))"
        case .logical(let isAnd, let a, let b): return "(\(isAnd ? "and" : "or") \(expr(a)) \(expr(b)))"
        case .call(let c, let args):
            return "(call \(expr(c))" + args.map { a in " " + (a.name.map { "\($0):" } ?? "") + expr(a.value) }.joined() + ")"
        case .member(let o, let n, _): return "(. \(expr(o)) \(n))"
        case .index(let o, let i): return "(index \(expr(o)) \(expr(i)))"
        case .slice(let o, let a, let b): return "(slice \(expr(o)) \(a.map(expr) ?? "_") \(b.map(expr) ?? "_"))"
        case .function(let d): return function(d)
        }
    }
}
