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
    public let kind: ExprKind
    public let span: Span
    public init(_ kind: ExprKind, _ span: Span) {
        self.kind = kind
        self.span = span
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
