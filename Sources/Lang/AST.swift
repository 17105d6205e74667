// The syntax tree. Every node carries the span of source it was parsed from.

/// Binary operators of the language (the runtime maps them to its own operator type).
public enum BinaryOperator: String {
    case add = "+", sub = "-", mul = "*", div = "/", mod = "%", pow = "**", matmul = "@"
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
    case `in` = "in"
}

public enum UnaryOperator: String {
    case negate = "-", plus = "+", not = "not"
}

/// An expression node.
public final class Expr {
    public private(set) var kind: ExprKind
    public let span: Span
    /// Nodes on the longest path from here to a leaf (the interpreter recurses this deep).
    public let height: Int
    public init(_ kind: ExprKind, _ span: Span) {
        self.kind = kind
        self.span = span
        var h = 0
        if Expr.hasChildren(kind) { for c in Expr.children(kind) where c.height > h { h = c.height } }
        height = h + 1
    }

    /// Frees the subtree without recursion: the parser caps nesting depth but not the length of a
    /// chain (`1 + 1 + ... + 1`, `f()()()...`, `a.b.c...`), which builds a left-deep tree; freeing
    /// it node by node recursively would overflow the native stack (docs/language.md, Limits).
    deinit {
        guard Expr.hasChildren(kind) else { return }
        var pending = Expr.children(kind)
        kind = .nil_
        while var e = pending.popLast() {
            // Only nodes nobody else holds are taken apart here; shared ones are freed by their owner.
            if isKnownUniquelyReferenced(&e), Expr.hasChildren(e.kind) {
                pending.append(contentsOf: Expr.children(e.kind))
                e.kind = .nil_
            }
        }
    }

    private static func hasChildren(_ k: ExprKind) -> Bool {
        switch k {
        case .number, .string, .bool, .nil_, .name, .function: return false
        default: return true
        }
    }

    /// The direct sub-expressions of a node (function bodies are statements, freed by their decl).
    private static func children(_ k: ExprKind) -> [Expr] {
        switch k {
        case .number, .string, .bool, .nil_, .name, .function: return []
        case .interpolation(let parts):
            return parts.compactMap { if case .expr(let e) = $0 { return e }; return nil }
        case .list(let xs): return xs
        case .record(let fs): return fs.map(\.value)
        case .unary(_, let e): return [e]
        case .binary(_, let a, let b), .logical(_, let a, let b), .index(let a, let b): return [a, b]
        case .call(let f, let args): return [f] + args.map(\.value)
        case .member(let e, _, _): return [e]
        case .slice(let e, let lo, let hi): return [e] + [lo, hi].compactMap { $0 }
        }
    }
}

public indirect enum ExprKind {
    case number(Double)
    case string(String)
    /// `"a {x} b"`: text and expressions, concatenated at run time.
    case interpolation([InterpolationPart])
    case bool(Bool)
    case nil_
    case name(String)
    case list([Expr])
    /// `{name: value, ...}` (keys in order; a key may be written as a string).
    case record([RecordField])
    case unary(UnaryOperator, Expr)
    case binary(BinaryOperator, Expr, Expr)
    /// `and` (isAnd) / `or`, evaluated short-circuit.
    case logical(isAnd: Bool, Expr, Expr)
    case call(Expr, [Argument])
    /// `object.name` (the span of the name is kept for errors).
    case member(Expr, String, Span)
    case index(Expr, Expr)
    /// `x[a:b]`, either bound may be missing.
    case slice(Expr, Expr?, Expr?)
    /// `fn(params) { body }`.
    case function(FunctionDecl)
}

public enum InterpolationPart {
    case text(String)
    case expr(Expr)
}

public struct RecordField {
    public let key: String
    public let keySpan: Span
    public let value: Expr
}

/// A call argument: positional when `name` is nil.
public struct Argument {
    public let name: String?
    public let nameSpan: Span?
    public let value: Expr
}

/// A parameter with an optional default value (evaluated at each call that omits it).
public struct Parameter {
    public let name: String
    public let span: Span
    public let defaultValue: Expr?
}

/// A function: `fn name(a, b = 2) { ... }` or a closure `fn(x) { ... }`.
public final class FunctionDecl {
    public let name: String?
    public let params: [Parameter]
    public let body: [Stmt]
    /// The span of the header `fn name(a, b)`.
    public let span: Span
    public init(name: String?, params: [Parameter], body: [Stmt], span: Span) {
        self.name = name
        self.params = params
        self.body = body
        self.span = span
    }

    /// "name(a, b = 2)" as written.
    public var signature: String {
        let ps = params.map { p in
            p.defaultValue.map { "\(p.name) = \($0.span.source.text(of: $0.span))" } ?? p.name
        }
        return "\(name ?? "fn")(\(ps.joined(separator: ", ")))"
    }
}

/// A statement node.
public final class Stmt {
    public let kind: StmtKind
    public let span: Span
    public init(_ kind: StmtKind, _ span: Span) {
        self.kind = kind
        self.span = span
    }
}

public indirect enum StmtKind {
    case expression(Expr)
    /// `target = value` or `target op= value`; target is a name, member or index expression.
    case assign(target: Expr, op: BinaryOperator?, value: Expr)
    case function(FunctionDecl)
    /// `if c {} else if c {} else {}`: the branches in order, then the optional else block.
    case if_(branches: [(condition: Expr, body: [Stmt])], elseBody: [Stmt]?)
    case for_(variable: String, variableSpan: Span, iterable: Expr, body: [Stmt])
    case while_(condition: Expr, body: [Stmt])
    case break_
    case continue_
    case return_(Expr?)
    /// `use name` / `use "path.adv"`, optionally `as alias`.
    case use(UseTarget, alias: String?)
}

public enum UseTarget {
    case name(String)
    case path(String)
}
