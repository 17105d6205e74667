// Tokens produced by the lexer.

/// The kinds of tokens.
public enum TokenKind: Equatable {
    case number(Double)
    /// A string literal; interpolated parts hold byte ranges of the code between `{` and `}`.
    case string([StringPart])
    case identifier(String)
    case keyword(Keyword)
    /// Operators and punctuation, by their text: "+", "**", "==", "(", ...
    case symbol(String)
    case newline
    case eof
}

/// A piece of a string literal.
public enum StringPart: Equatable {
    case text(String)
    /// The code of an interpolation `{...}`, as a byte range of the source.
    case code(start: Int, end: Int)
}

/// Reserved words.
public enum Keyword: String, CaseIterable {
    case fn, `return`, `if`, `else`, `for`, `in`, `while`, `break`, `continue`
    case `true`, `false`, `nil`, and, or, not, use
}

/// One token with its source span.
public struct Token {
    public let kind: TokenKind
    public let span: Span
    public init(_ kind: TokenKind, _ span: Span) {
        self.kind = kind
        self.span = span
    }

    /// A short description for error messages: "'+'", "a number", "end of line".
    public var describe: String {
        switch kind {
        case .number: return "number \(Diagnostic.excerpt(span.source.text(of: Span(span.source, span.start, min(span.end, span.start + 200)))))"
        case .string: return "a string"
        case .identifier(let n): return "name '\(Diagnostic.excerpt(n))'"
        case .keyword(let k): return "'\(k.rawValue)'"
        case .symbol(let s): return "'\(s)'"
        case .newline: return "end of line"
        case .eof: return "end of input"
        }
    }

    public func isSymbol(_ s: String) -> Bool {
        if case .symbol(let t) = kind { return t == s }
        return false
    }

    public func isKeyword(_ k: Keyword) -> Bool {
        if case .keyword(let t) = kind { return t == k }
        return false
    }
}
