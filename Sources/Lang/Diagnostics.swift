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
        out += "\n" + text + "\n"
        // Pad with the same whitespace (keeps tabs aligned), then ^ and ~ for the rest of the span on this line.
        let chars = Array(text)
        var pad = ""
        for i in 0..<min(col - 1, chars.count) { pad.append(chars[i] == "\t" ? "\t" : " ") }
        let lineEndOffset = line < src.lineStarts.count ? src.lineStarts[line] - 1 : src.bytes.count
        let endOnLine = min(span.end, lineEndOffset)
        let width = max(1, endOnLine > span.start ? src.text(of: Span(src, span.start, endOnLine)).count : 1)
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
