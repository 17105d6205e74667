// A recursive-descent parser with Pratt-style expressions. It recovers at statement
// boundaries, so one pass reports several syntax errors; nesting depth is limited so deeply
// nested input gives an error instead of exhausting the native stack.

public struct Parser {
    /// Deepest nesting of expressions and blocks accepted.
    public static let maxDepth = 200
    /// Tallest expression tree accepted: a flat chain (`1 + 1 + ... + 1`, `f()()()...`) is as tall
    /// as it is long, and evaluating it recurses once per level (docs/reliability.md).
    public static let maxHeight = 100_000
    /// At most this many syntax errors are reported from one input.
    public static let maxErrors = 20

    private var tokens: [Token]
    private var p = 0
    private var depth: Int
    private var loopDepth = 0
    private var functionDepth = 0
    public private(set) var diagnostics: [Diagnostic] = []

    private struct Bail: Error {}

    init(tokens: [Token], depth: Int = 0) {
        self.tokens = tokens
        self.depth = depth
    }

    /// Parses a whole source file.
    /// - Returns: the statements and every diagnostic (lexer and parser); the program is
    ///   only meaningful when there are no diagnostics.
    public static func parse(_ source: SourceFile) -> (statements: [Stmt], diagnostics: [Diagnostic]) {
        var lexer = Lexer(source)
        let tokens = lexer.tokenize()
        var parser = Parser(tokens: tokens)
        let stmts = parser.program()
        var diags = lexer.diagnostics + parser.diagnostics
        diags.sort { $0.span.start < $1.span.start }
        return (stmts, Array(diags.prefix(maxErrors)))
    }

    /// True when `text` ends inside an open bracket or block, or right after a binary
    /// operator: the REPL then reads a continuation line.
    public static func isIncomplete(_ text: String) -> Bool {
        let src = SourceFile(name: "", text: text)
        var lexer = Lexer(src)
        let tokens = lexer.tokenize()
        var depth = 0
        var last: Token?
        for t in tokens {
            if case .symbol(let s) = t.kind {
                if s == "(" || s == "[" || s == "{" { depth += 1 }
                if s == ")" || s == "]" || s == "}" { depth -= 1 }
            }
            if case .eof = t.kind { break }
            if case .newline = t.kind { continue }
            last = t
        }
        if depth > 0 { return true }
        if let l = last, case .symbol(let s) = l.kind,
           ["+", "-", "*", "/", "%", "**", "@", "==", "!=", "<", "<=", ">", ">=", "=", "+=", "-=", "*=", "/=", ",", "."].contains(s) {
            return true
        }
        if let l = last, case .keyword(let k) = l.kind, [.and, .or, .not, .in].contains(k) { return true }
        // An unterminated string or a trailing backslash continues too.
        let trimmed = text.reversed().drop { $0 == "\n" || $0 == " " }
        if trimmed.first == "\\" { return true }
        return false
    }

    // MARK: - Token helpers

    private var cur: Token { tokens[p] }
    private var atEnd: Bool { if case .eof = cur.kind { return true }; return false }

    private mutating func advance() -> Token {
        let t = tokens[p]
        if p < tokens.count - 1 { p += 1 }
        return t
    }

    private func peek(_ k: Int = 1) -> Token { tokens[min(p + k, tokens.count - 1)] }

    private mutating func match(_ s: String) -> Bool {
        if cur.isSymbol(s) { p += 1; return true }
        return false
    }

    private mutating func matchKeyword(_ k: Keyword) -> Bool {
        if cur.isKeyword(k) { p += 1; return true }
        return false
    }

    /// The span of the last consumed token (a closing brace after a block).
    private var previous: Span { tokens[max(0, p - 1)].span }

    private var atNewline: Bool { if case .newline = cur.kind { return true }; return false }

    private mutating func skipNewlines() {
        while true {
            if case .newline = cur.kind { p += 1 } else { return }
        }
    }

    private mutating func fail(_ msg: String, _ span: Span? = nil) -> Bail {
        diagnostics.append(Diagnostic(msg, at: span ?? cur.span))
        return Bail()
    }

    @discardableResult
    private mutating func expect(_ s: String, _ what: String) throws -> Token {
        guard cur.isSymbol(s) else { throw fail("expected '\(s)' \(what), found \(cur.describe)") }
        return advance()
    }

    /// Expects the bracket `s` closing `opener`. When no such bracket follows anywhere (the
    /// bracket is never closed, so the lexer read the following lines as its contents), the error
    /// is placed at the opening bracket, with a note where the parser gave up.
    @discardableResult
    private mutating func expectClosing(_ s: String, _ what: String, opener: Token) throws -> Token {
        if cur.isSymbol(s) { return advance() }
        guard case .symbol(let open) = opener.kind else { return try expect(s, what) }
        var depth = 0
        for t in tokens[p...] {
            if t.isSymbol(open) { depth += 1 }
            if t.isSymbol(s) {
                if depth == 0 { return try expect(s, what) }  // closed later: the problem is here
                depth -= 1
            }
        }
        diagnostics.append(Diagnostic("'\(open)' is never closed (expected '\(s)' \(what))", at: opener.span))
        diagnostics.append(Diagnostic("the parser gave up here, at \(cur.describe)", at: cur.span, severity: .note))
        throw Bail()
    }

    private mutating func identifier(_ what: String) throws -> (String, Span) {
        guard case .identifier(let n) = cur.kind else {
            if case .keyword(let k) = cur.kind { throw fail("'\(k.rawValue)' is a reserved word and cannot be \(what)") }
            throw fail("expected \(what), found \(cur.describe)")
        }
        let t = advance()
        return (n, t.span)
    }

    private mutating func enter() throws {
        depth += 1
        if depth > Parser.maxDepth { throw fail("nesting too deep (more than \(Parser.maxDepth) levels)") }
    }

    // MARK: - Statements

    mutating func program() -> [Stmt] {
        var out: [Stmt] = []
        while true {
            while atNewline || cur.isSymbol(";") { p += 1 }
            if atEnd || diagnostics.count >= Parser.maxErrors { return out }
            let before = p
            do {
                out.append(try statement())
            } catch {
                synchronize(inBlock: false)
                if p == before { _ = advance() }
            }
        }
    }

    /// Skips to the end of the current statement after an error.
    private mutating func synchronize(inBlock: Bool) {
        var d = 0
        while !atEnd {
            switch cur.kind {
            case .newline where d == 0:
                p += 1
                return
            case .symbol(";") where d == 0:
                p += 1
                return
            case .symbol("("), .symbol("["), .symbol("{"):
                d += 1
            case .symbol(")"), .symbol("]"), .symbol("}"):
                if d == 0 {
                    if inBlock && cur.isSymbol("}") { return }
                } else {
                    d -= 1
                }
            default: break
            }
            p += 1
        }
    }

    private mutating func block(_ what: String) throws -> [Stmt] {
        try enter()
        defer { depth -= 1 }
        guard cur.isSymbol("{") else { throw fail("expected '{' to start \(what), found \(cur.describe)") }
        let open = advance()
        var out: [Stmt] = []
        while true {
            while atNewline || cur.isSymbol(";") { p += 1 }
            if cur.isSymbol("}") { p += 1; return out }
            if atEnd { throw fail("expected '}' to close the block opened here", open.span) }
            if diagnostics.count >= Parser.maxErrors { throw Bail() }
            let before = p
            do {
                out.append(try statement())
            } catch {
                synchronize(inBlock: true)
                if p == before && !cur.isSymbol("}") { _ = advance() }
            }
        }
    }

    private mutating func endOfStatement() throws {
        if atNewline || cur.isSymbol(";") { p += 1; return }
        if atEnd || cur.isSymbol("}") { return }
        throw fail("expected end of line after the statement, found \(cur.describe)")
    }

    mutating func statement() throws -> Stmt {
        let start = cur.span
        switch cur.kind {
        case .keyword(.fn):
            if case .identifier = peek().kind {
                let decl = try function()
                let whole = decl.span.to(previous)
                try endOfStatement()
                return Stmt(.function(decl), whole)
            }
        case .keyword(.if):
            let s = try ifStatement()
            try endOfStatement()
            return s
        case .keyword(.for):
            p += 1
            let (name, nameSpan) = try identifier("a loop variable name")
            guard matchKeyword(.in) else { throw fail("expected 'in' after 'for \(name)', found \(cur.describe)") }
            let iterable = try expression()
            loopDepth += 1
            defer { loopDepth -= 1 }
            let body = try block("the loop body")
            let whole = start.to(previous)
            try endOfStatement()
            return Stmt(.for_(variable: name, variableSpan: nameSpan, iterable: iterable, body: body), whole)
        case .keyword(.while):
            p += 1
            let cond = try expression()
            loopDepth += 1
            defer { loopDepth -= 1 }
            let body = try block("the loop body")
            let whole = start.to(previous)
            try endOfStatement()
            return Stmt(.while_(condition: cond, body: body), whole)
        case .keyword(.break):
            if loopDepth == 0 { throw fail("'break' outside a loop") }
            p += 1
            try endOfStatement()
            return Stmt(.break_, start)
        case .keyword(.continue):
            if loopDepth == 0 { throw fail("'continue' outside a loop") }
            p += 1
            try endOfStatement()
            return Stmt(.continue_, start)
        case .keyword(.return):
            if functionDepth == 0 { throw fail("'return' outside a function") }
            p += 1
            var value: Expr?
            if !(atNewline || atEnd || cur.isSymbol(";") || cur.isSymbol("}")) { value = try expression() }
            try endOfStatement()
            return Stmt(.return_(value), value.map { start.to($0.span) } ?? start)
        case .keyword(.use):
            p += 1
            var target: UseTarget
            var end = cur.span
            switch cur.kind {
            case .identifier(let n):
                target = .name(n)
                p += 1
            case .string(let parts):
                guard parts.count <= 1, case .text(let path)? = parts.first ?? .text("") else {
                    throw fail("the path after 'use' must be a plain string")
                }
                guard !path.isEmpty else { throw fail("the path after 'use' is empty") }
                target = .path(path)
                p += 1
            default:
                throw fail("expected a module name or a \"path.adv\" after 'use', found \(cur.describe)")
            }
            var alias: String?
            if case .identifier("as") = cur.kind {
                p += 1
                let (a, aSpan) = try identifier("a module alias")
                alias = a
                end = aSpan
            }
            try endOfStatement()
            return Stmt(.use(target, alias: alias), start.to(end))
        case .keyword(.else):
            throw fail("'else' without a matching 'if' (put 'else' on the same line as the closing '}')")
        default:
            break
        }
        let e = try expression()
        if case .symbol(let s) = cur.kind, ["=", "+=", "-=", "*=", "/="].contains(s) {
            let opTok = advance()
            switch e.kind {
            case .name, .member, .index: break
            default:
                throw fail("cannot assign to this expression (only to a name, a field or an element)", e.span)
            }
            let value = try expression()
            let op: BinaryOperator? = s == "=" ? nil : BinaryOperator(rawValue: String(s.dropLast()))
            _ = opTok
            try endOfStatement()
            return Stmt(.assign(target: e, op: op, value: value), e.span.to(value.span))
        }
        if cur.isSymbol(":"), case .name = e.kind {
            throw fail("unexpected ':' (records need braces: {name: value})")
        }
        try endOfStatement()
        return Stmt(.expression(e), e.span)
    }

    private mutating func ifStatement() throws -> Stmt {
        let start = advance().span  // 'if'
        var branches: [(condition: Expr, body: [Stmt])] = []
        var elseBody: [Stmt]?
        let cond = try expression()
        branches.append((cond, try block("the 'if' body")))
        while true {
            // Allow `else` on the line after the closing brace.
            var q = p
            while case .newline = tokens[q].kind, q < tokens.count - 1 { q += 1 }
            guard tokens[q].isKeyword(.else) else { break }
            p = q + 1
            if matchKeyword(.if) {
                let c = try expression()
                branches.append((c, try block("the 'else if' body")))
            } else {
                elseBody = try block("the 'else' body")
                break
            }
        }
        return Stmt(.if_(branches: branches, elseBody: elseBody), start.to(previous))
    }

    private mutating func function() throws -> FunctionDecl {
        let start = advance().span  // 'fn'
        var name: String?
        if case .identifier(let n) = cur.kind { name = n; p += 1 }
        let openParen = try expect("(", "before the parameters")
        var params: [Parameter] = []
        while !cur.isSymbol(")") {
            let (pn, ps) = try identifier("a parameter name")
            if params.contains(where: { $0.name == pn }) { throw fail("duplicate parameter '\(pn)'", ps) }
            var def: Expr?
            if match("=") {
                def = try expression()
            } else if params.last?.defaultValue != nil {
                throw fail("parameter '\(pn)' needs a default value because an earlier one has one", ps)
            }
            params.append(Parameter(name: pn, span: ps, defaultValue: def))
            if !match(",") { break }
        }
        let close = try expectClosing(")", "after the parameters", opener: openParen)
        let savedLoops = loopDepth
        loopDepth = 0
        functionDepth += 1
        defer { loopDepth = savedLoops; functionDepth -= 1 }
        let body = try block("the function body")
        return FunctionDecl(name: name, params: params, body: body, span: start.to(close.span))
    }

    // MARK: - Expressions

    /// Binding power of infix operators; higher binds tighter.
    private func infix(_ t: Token) -> (prec: Int, right: Bool)? {
        switch t.kind {
        case .keyword(.or): return (1, false)
        case .keyword(.and): return (2, false)
        case .keyword(.in): return (4, false)
        case .symbol(let s):
            switch s {
            case "==", "!=", "<", "<=", ">", ">=": return (4, false)
            case "+", "-": return (5, false)
            case "*", "/", "%", "@": return (6, false)
            case "**": return (8, true)
            default: return nil
            }
        default: return nil
        }
    }

    mutating func expression(_ minPrec: Int = 0) throws -> Expr {
        try enter()
        defer { depth -= 1 }
        var left = try prefix()
        while let (prec, right) = infix(cur), prec >= minPrec {
            let op = advance()
            skipNewlines()
            let rhs = try expression(right ? prec : prec + 1)
            let span = left.span.to(rhs.span)
            switch op.kind {
            case .keyword(.and): left = Expr(.logical(isAnd: true, left, rhs), span)
            case .keyword(.or): left = Expr(.logical(isAnd: false, left, rhs), span)
            case .keyword(.in): left = Expr(.binary(.in, left, rhs), span)
            case .symbol(let s): left = Expr(.binary(BinaryOperator(rawValue: s) ?? .add, left, rhs), span)
            default: throw fail("unexpected \(op.describe)", op.span)
            }
            try checkHeight(left, op.span)
        }
        return left
    }

    private mutating func prefix() throws -> Expr {
        let t = cur
        if t.isKeyword(.not) {
            p += 1
            let e = try expression(4)
            return Expr(.unary(.not, e), t.span.to(e.span))
        }
        if t.isSymbol("-") || t.isSymbol("+") {
            p += 1
            let e = try expression(8)
            if t.isSymbol("-"), case .number(let d) = e.kind { return Expr(.number(-d), t.span.to(e.span)) }
            return Expr(.unary(t.isSymbol("-") ? .negate : .plus, e), t.span.to(e.span))
        }
        return try postfix(try primary())
    }

    private mutating func postfix(_ base: Expr) throws -> Expr {
        var e = base
        while true {
            if cur.isSymbol("(") {
                e = try call(e)
            } else if cur.isSymbol("[") {
                let openBracket = advance()
                var lo: Expr?, hi: Expr?
                if !cur.isSymbol(":") { lo = try expression() }
                if match(":") {
                    if !cur.isSymbol("]") { hi = try expression() }
                    let close = try expectClosing("]", "to close the slice", opener: openBracket)
                    e = Expr(.slice(e, lo, hi), e.span.to(close.span))
                } else {
                    guard let index = lo else { throw fail("expected an index or a slice inside '[]'") }
                    let close = try expectClosing("]", "to close the index", opener: openBracket)
                    e = Expr(.index(e, index), e.span.to(close.span))
                }
            } else if cur.isSymbol(".") {
                p += 1
                let (n, ns) = try identifier("a field or method name after '.'")
                e = Expr(.member(e, n, ns), e.span.to(ns))
            } else {
                return e
            }
            try checkHeight(e, previous)
        }
    }

    /// Refuses an expression taller than `maxHeight` (reported at the operator that exceeds it).
    private mutating func checkHeight(_ e: Expr, _ at: Span) throws {
        if e.height > Parser.maxHeight {
            throw fail("expression too long (more than \(Parser.maxHeight) operations in a chain); split it into several statements", at)
        }
    }

    private mutating func call(_ callee: Expr) throws -> Expr {
        try enter()
        defer { depth -= 1 }
        let openParen = advance()  // '('
        var args: [Argument] = []
        var sawNamed = false
        while !cur.isSymbol(")") {
            if case .identifier(let n) = cur.kind, peek().isSymbol(":") {
                let ns = advance().span
                p += 1
                if args.contains(where: { $0.name == n }) { throw fail("argument '\(n)' given twice", ns) }
                let v = try expression()
                args.append(Argument(name: n, nameSpan: ns, value: v))
                sawNamed = true
            } else {
                let v = try expression()
                if sawNamed { throw fail("positional argument after a named one (positional arguments come first)", v.span) }
                args.append(Argument(name: nil, nameSpan: nil, value: v))
            }
            if !match(",") { break }
        }
        let close = try expectClosing(")", "to close the call", opener: openParen)
        return Expr(.call(callee, args), callee.span.to(close.span))
    }

    private mutating func primary() throws -> Expr {
        let t = cur
        switch t.kind {
        case .number(let d):
            p += 1
            return Expr(.number(d), t.span)
        case .string(let parts):
            p += 1
            return try stringLiteral(parts, t.span)
        case .keyword(.true): p += 1; return Expr(.bool(true), t.span)
        case .keyword(.false): p += 1; return Expr(.bool(false), t.span)
        case .keyword(.nil): p += 1; return Expr(.nil_, t.span)
        case .identifier(let n):
            p += 1
            return Expr(.name(n), t.span)
        case .keyword(.fn):
            let decl = try function()
            if let n = decl.name {
                throw fail("a function used as a value has no name: write 'fn(...)' or define 'fn \(n)(...)' as a statement", decl.span)
            }
            return Expr(.function(decl), decl.span)
        case .symbol("("):
            p += 1
            skipNewlines()
            let e = try expression()
            skipNewlines()
            let close = try expectClosing(")", "to close the parenthesis", opener: t)
            return Expr(e.kind, t.span.to(close.span))
        case .symbol("["):
            p += 1
            var items: [Expr] = []
            while !cur.isSymbol("]") {
                items.append(try expression())
                if !match(",") { break }
            }
            let close = try expectClosing("]", "to close the list", opener: t)
            return Expr(.list(items), t.span.to(close.span))
        case .symbol("{"):
            return try record()
        case .newline, .eof:
            throw fail("expected an expression, found \(t.describe)")
        default:
            throw fail("expected an expression, found \(t.describe)")
        }
    }

    private mutating func record() throws -> Expr {
        let open = advance()
        var fields: [RecordField] = []
        skipNewlines()
        while !cur.isSymbol("}") {
            var key: String
            let ks = cur.span
            switch cur.kind {
            case .identifier(let n): key = n
            case .keyword(let k): key = k.rawValue
            case .string(let parts):
                guard parts.count <= 1, case .text(let s)? = parts.first ?? .text("") else {
                    throw fail("a record key must be a name or a plain string")
                }
                key = s
            default:
                throw fail("expected a field name in the record, found \(cur.describe)")
            }
            p += 1
            if fields.contains(where: { $0.key == key }) { throw fail("field '\(key)' given twice", ks) }
            try expect(":", "after the field name '\(key)'")
            skipNewlines()
            let v = try expression()
            fields.append(RecordField(key: key, keySpan: ks, value: v))
            skipNewlines()
            if !match(",") { break }
            skipNewlines()
        }
        skipNewlines()
        let close = try expectClosing("}", "to close the record", opener: open)
        return Expr(.record(fields), open.span.to(close.span))
    }

    private mutating func stringLiteral(_ parts: [StringPart], _ span: Span) throws -> Expr {
        var out: [InterpolationPart] = []
        for part in parts {
            switch part {
            case .text(let s): out.append(.text(s))
            case .code(let s, let e):
                var lexer = Lexer(span.source, range: s..<e)
                let toks = lexer.tokenize().filter { if case .newline = $0.kind { return false }; return true }
                diagnostics += lexer.diagnostics
                var sub = Parser(tokens: toks, depth: depth + 1)
                var expr: Expr?
                do {
                    let x = try sub.expression()
                    if !sub.atEnd { throw sub.fail("unexpected \(sub.cur.describe) in '{...}'") }
                    expr = x
                } catch {}
                diagnostics += sub.diagnostics
                guard let x = expr else { throw Bail() }
                out.append(.expr(x))
            }
        }
        if out.isEmpty { return Expr(.string(""), span) }
        if out.count == 1, case .text(let s) = out[0] { return Expr(.string(s), span) }
        return Expr(.interpolation(out), span)
    }
}
