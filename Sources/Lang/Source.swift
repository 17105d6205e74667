// Source text and spans: every token and AST node records where it came from.

/// One piece of source text (a file, a REPL input, a `-e` argument), kept as UTF-8 bytes.
public final class SourceFile {
    /// The name shown in diagnostics: a path, "<repl>", "<stdin>" or "-e".
    public let name: String
    /// The text.
    public let text: String
    /// The UTF-8 bytes of `text` (the lexer works on these).
    public let bytes: [UInt8]
    /// Byte offset of the first character of each line.
    public let lineStarts: [Int]

    /// - Parameters:
    ///   - name: shown in diagnostics.
    ///   - text: the source text.
    public init(name: String, text: String) {
        self.name = name
        self.text = text
        self.bytes = Array(text.utf8)
        var starts = [0]
        for (i, b) in bytes.enumerated() where b == 10 { starts.append(i + 1) }
        self.lineStarts = starts
    }

    /// The 1-based line and column (in characters) of a byte offset.
    public func location(of offset: Int) -> (line: Int, column: Int) {
        let o = max(0, min(offset, bytes.count))
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= o { lo = mid } else { hi = mid - 1 }
        }
        let start = lineStarts[lo]
        let col = String(decoding: bytes[start..<o], as: UTF8.self).count + 1
        return (lo + 1, col)
    }

    /// The text of a 1-based line, without its newline.
    public func line(_ n: Int) -> String {
        guard n >= 1, n <= lineStarts.count else { return "" }
        let start = lineStarts[n - 1]
        var end = n < lineStarts.count ? lineStarts[n] - 1 : bytes.count
        if end > start, bytes[end - 1] == 13 { end -= 1 }
        return String(decoding: bytes[start..<max(start, end)], as: UTF8.self)
    }

    /// The text covered by a span.
    public func text(of span: Span) -> String {
        let s = max(0, min(span.start, bytes.count)), e = max(s, min(span.end, bytes.count))
        return String(decoding: bytes[s..<e], as: UTF8.self)
    }
}

/// A byte range `start..<end` in a source file.
public struct Span {
    public let source: SourceFile
    public let start: Int
    public let end: Int

    public init(_ source: SourceFile, _ start: Int, _ end: Int) {
        self.source = source
        self.start = start
        self.end = max(start, end)
    }

    /// The span from the start of `self` to the end of `other`.
    public func to(_ other: Span) -> Span { Span(source, start, max(end, other.end)) }

    /// "FILE:LINE:COL".
    public var position: String {
        let (l, c) = source.location(of: start)
        return "\(source.name):\(l):\(c)"
    }
}
