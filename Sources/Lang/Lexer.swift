// The lexer: UTF-8 bytes -> tokens with spans. Newlines end statements except inside
// ( ) and [ ]; string interpolations are kept as byte ranges the parser lexes again.

public struct Lexer {
    public let source: SourceFile
    private let b: [UInt8]
    private var i: Int
    private let end: Int
    /// Open brackets, innermost last: newlines inside ( or [ are not tokens.
    private var brackets: [UInt8] = []
    /// Errors found while lexing (unterminated strings, stray characters).
    public private(set) var diagnostics: [Diagnostic] = []

    /// - Parameters:
    ///   - source: the file.
    ///   - range: the byte range to lex (defaults to the whole file; interpolations lex a part).
    public init(_ source: SourceFile, range: Range<Int>? = nil) {
        self.source = source
        self.b = source.bytes
        let r = range ?? 0..<source.bytes.count
        self.i = r.lowerBound
        self.end = min(r.upperBound, source.bytes.count)
    }

    /// Lexes everything; the last token is `.eof`.
    public mutating func tokenize() -> [Token] {
        var out: [Token] = []
        while true {
            let t = next()
            out.append(t)
            if case .eof = t.kind { return out }
        }
    }

    private func span(_ s: Int) -> Span { Span(source, s, i) }

    private mutating func error(_ msg: String, _ s: Int, _ e: Int) {
        diagnostics.append(Diagnostic(msg, at: Span(source, s, max(e, s + 1))))
    }

    /// The next token.
    public mutating func next() -> Token {
        while i < end {
            let c = b[i]
            if c == 32 || c == 9 || c == 13 { i += 1; continue }
            if c == 35 {  // '#' comment to end of line
                while i < end && b[i] != 10 { i += 1 }
                continue
            }
            if c == 92, i + 1 < end, b[i + 1] == 10 { i += 2; continue }  // backslash-newline joins lines
            if c == 10 {
                let s = i
                i += 1
                if let top = brackets.last, top != 123 { continue }
                return Token(.newline, span(s))
            }
            break
        }
        guard i < end else { return Token(.eof, Span(source, end, end)) }
        let s = i
        let c = b[i]
        if isDigit(c) { return number(s) }
        if isIdentStart(c) {
            while i < end && isIdentPart(b[i]) { i += 1 }
            let text = String(decoding: b[s..<i], as: UTF8.self)
            if let k = Keyword(rawValue: text) { return Token(.keyword(k), span(s)) }
            return Token(.identifier(text), span(s))
        }
        if c == 34 { return string(s) }
        // Operators: longest match first.
        if i + 1 < end {
            let two = String(decoding: b[i..<i + 2], as: UTF8.self)
            switch two {
            case "**", "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=":
                i += 2
                return Token(.symbol(two), span(s))
            case "&&", "||":
                i += 2
                error("unknown operator '\(two)'; use '\(two == "&&" ? "and" : "or")'", s, i)
                return Token(.keyword(two == "&&" ? .and : .or), span(s))
            default: break
            }
        }
        switch c {
        case 40, 91, 123:  // ( [ {
            if brackets.count < 10_000 { brackets.append(c) }
            i += 1
            return Token(.symbol(String(UnicodeScalar(c))), span(s))
        case 41, 93, 125:  // ) ] }
            let open: UInt8 = c == 41 ? 40 : c == 93 ? 91 : 123
            if let idx = brackets.lastIndex(of: open) { brackets.removeSubrange(idx...) }
            i += 1
            return Token(.symbol(String(UnicodeScalar(c))), span(s))
        case 43, 45, 42, 47, 37, 64, 60, 62, 61, 44, 58, 46, 59:  // + - * / % @ < > = , : . ;
            i += 1
            return Token(.symbol(String(UnicodeScalar(c))), span(s))
        case 33:  // '!'
            i += 1
            error("unknown operator '!'; use 'not'", s, i)
            return Token(.keyword(.not), span(s))
        default:
            // Skip one whole UTF-8 character and report it.
            i += 1
            while i < end && (b[i] & 0xC0) == 0x80 { i += 1 }
            let ch = String(decoding: b[s..<i], as: UTF8.self)
            error(c == 39 ? "strings use double quotes (\"...\")" : "unexpected character \(Lexer.shown(ch))", s, i)
            return next()
        }
    }

    /// A stray character for a message: quoted when visible, else its code point
    /// ("U+0007 (a control character)", "U+200B (an invisible character)").
    static func shown(_ ch: String) -> String {
        guard let u = ch.unicodeScalars.first else { return "''" }
        let code = "U+" + String(repeating: "0", count: max(0, 4 - String(u.value, radix: 16).count)) + String(u.value, radix: 16, uppercase: true)
        if u.value < 0x20 || (0x7F...0x9F).contains(u.value) { return "\(code) (a control character)" }
        if u.properties.isWhitespace || u.properties.generalCategory == .format || u.value == 0xFFFD {
            return "\(code) (an invisible character)"
        }
        return "'\(ch)'"
    }

    private mutating func number(_ s: Int) -> Token {
        func digits() { while i < end && (isDigit(b[i]) || b[i] == 95) { i += 1 } }
        digits()
        if i + 1 < end && b[i] == 46 && isDigit(b[i + 1]) { i += 1; digits() }
        if i < end && (b[i] == 101 || b[i] == 69) {  // e E
            var j = i + 1
            if j < end && (b[j] == 43 || b[j] == 45) { j += 1 }
            if j < end && isDigit(b[j]) { i = j; digits() }
        }
        if i < end && isIdentStart(b[i]) {
            let bad = i
            while i < end && isIdentPart(b[i]) { i += 1 }
            error("invalid number '\(Diagnostic.excerpt(String(decoding: b[s..<min(i, s + 200)], as: UTF8.self)))'", s, i)
            _ = bad
        }
        let text = String(decoding: b[s..<i].filter { $0 != 95 }, as: UTF8.self)
        return Token(.number(Double(text) ?? 0), span(s))
    }

    private mutating func string(_ s: Int) -> Token {
        i += 1  // opening quote
        var parts: [StringPart] = []
        var buf: [UInt8] = []
        func flush() {
            if !buf.isEmpty { parts.append(.text(String(decoding: buf, as: UTF8.self))); buf = [] }
        }
        while true {
            guard i < end, b[i] != 10 else {
                error("unterminated string (add a closing \")", s, i)
                flush()
                return Token(.string(parts), span(s))
            }
            let c = b[i]
            if c == 34 { i += 1; break }
            if c == 92 {  // backslash escape
                guard i + 1 < end else { i += 1; continue }
                let e = b[i + 1]
                i += 2
                switch e {
                case 110: buf.append(10)       // \n
                case 116: buf.append(9)        // \t
                case 114: buf.append(13)       // \r
                case 48: buf.append(0)         // \0
                case 34, 92, 123, 125: buf.append(e)  // \" \\ \{ \}
                default:
                    error("unknown escape '\\\(String(UnicodeScalar(e)))' (use \\n \\t \\\" \\\\ \\{ \\})", i - 2, i)
                }
                continue
            }
            if c == 123 {  // '{' interpolation
                flush()
                let open = i
                i += 1
                let start = i
                var depth = 1
                while i < end && b[i] != 10 {
                    if b[i] == 123 { depth += 1 }
                    else if b[i] == 125 { depth -= 1; if depth == 0 { break } }
                    else if b[i] == 34 {  // nested string: skip it
                        i += 1
                        while i < end && b[i] != 34 && b[i] != 10 { if b[i] == 92 { i += 1 }; i += 1 }
                        if i >= end || b[i] == 10 { break }
                    }
                    i += 1
                }
                guard i < end, b[i] == 125 else {
                    error("unterminated '{' in string (write \\{ for a literal brace)", open, open + 1)
                    return Token(.string(parts), span(s))
                }
                if start == i || b[start..<i].allSatisfy({ $0 == 32 || $0 == 9 }) {
                    error("empty '{}' in string (write \\{ for a literal brace)", open, i + 1)
                } else {
                    parts.append(.code(start: start, end: i))
                }
                i += 1
                continue
            }
            buf.append(c)
            i += 1
        }
        flush()
        return Token(.string(parts), span(s))
    }
}

@inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
@inline(__always) func isIdentStart(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 }
@inline(__always) func isIdentPart(_ c: UInt8) -> Bool { isIdentStart(c) || isDigit(c) }
