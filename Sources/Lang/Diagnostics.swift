// Diagnostics: `FILE:LINE:COL: error: MESSAGE`, the source line, and a caret/tilde underline.

/// One message about a span of source.
public struct Diagnostic: Error, CustomStringConvertible {
    public enum Severity: String { case error, note }
    public let severity: Severity
    public let message: String
    public let span: Span

    public init(_ message: String, at span: Span, severity: Severity = .error) {
        self.message = message
        self.span = span
        self.severity = severity
    }

    public var description: String { render() }

    /// Longest source line shown in full; longer ones are cut around the column.
    public static let maxShownLine = 160

    /// `text` cut to `limit` characters with "..." (for tokens quoted in messages).
    public static func excerpt(_ text: String, limit: Int = 40) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "..."
    }

    /// A character as shown in a source line: control characters (which would be invisible or
    /// act on the terminal) become their Unicode control pictures (U+2400...), tabs stay.
    static func visible(_ c: Character) -> Character {
        guard c != "\t", let u = c.unicodeScalars.first, c.unicodeScalars.count == 1 else { return c }
        if u.value < 0x20 { return Character(Unicode.Scalar(0x2400 + u.value)!) }
        if u.value == 0x7F { return "\u{2421}" }
        return c
    }

    /// The message with its location, the source line and an underline of the span:
    /// ```
    /// f.adv:2:7: error: unknown name 'pirnt'; did you mean 'print'?
    /// x = 1 + pirnt(x)
    ///         ^~~~~
    /// ```
    /// - Parameters:
    ///   - showSource: false gives only the first line.
    public func render(showSource: Bool = true) -> String {
        let src = span.source
        let (line, col) = src.location(of: span.start)
        var out = "\(src.name):\(line):\(col): \(severity.rawValue): \(message)"
        guard showSource else { return out }
        let text = src.line(line)
        if text.isEmpty && span.start >= src.bytes.count && line > 1 {
            return out  // at end of input: nothing to underline
        }
        // Pad with the same whitespace (keeps tabs aligned), then ^ and ~ for the rest of the span on this line.
        var chars = Array(text)
        let lineEndOffset = line < src.lineStarts.count ? src.lineStarts[line] - 1 : src.bytes.count
        let endOnLine = min(span.end, lineEndOffset)
        var width = max(1, endOnLine > span.start ? src.text(of: Span(src, span.start, endOnLine)).count : 1)
        var caretAt = min(col - 1, chars.count)
        // A very long line is shown as a window around the column (a 10 MB line must not print 20 MB).
        if chars.count > Diagnostic.maxShownLine {
            let lo = max(0, caretAt - Diagnostic.maxShownLine / 2)
            let hi = min(chars.count, lo + Diagnostic.maxShownLine)
            width = min(width, max(1, hi - caretAt))
            let lead: [Character] = lo > 0 ? Array("...") : []
            chars = lead + Array(chars[lo..<hi]) + (hi < chars.count ? Array("...") : [])
            caretAt = caretAt - lo + lead.count
        }
        out += "\n" + String(chars.map(Diagnostic.visible)) + "\n"
        var pad = ""
        for i in 0..<min(caretAt, chars.count) { pad.append(chars[i] == "\t" ? "\t" : " ") }
        out += pad + "^" + String(repeating: "~", count: width - 1)
        return out
    }
}

/// Several diagnostics from one pass (the parser reports every syntax error it can recover from).
public struct Diagnostics: Error, CustomStringConvertible {
    public let items: [Diagnostic]
    public init(_ items: [Diagnostic]) { self.items = items }
    public var description: String { items.map { $0.render() }.joined(separator: "\n") }
}
