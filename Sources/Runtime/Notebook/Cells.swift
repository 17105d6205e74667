// Cells of a .adv file in the percent format that Jupytext, VS Code and Spyder read
// (docs/notebooks.md): a line `# %%` (optionally `# %% title`) starts a code cell, `# %% [markdown]`
// (or `# %% title [markdown]`) a Markdown cell whose comment lines are the Markdown text. A file
// without markers is one cell. The markers are comments, so running the file as a script
// ignores them.
import Foundation

public struct Cell {
    public enum Kind { case code, markdown }
    public var kind: Kind
    public var title: String?
    /// The line (1-based) of the cell's first line of content in the file.
    public var firstLine: Int
    /// The cell's content: code, or Markdown with the leading `# ` removed.
    public var text: String

    /// The text padded with blank lines so that line numbers in diagnostics are the file's.
    public var sourceText: String { String(repeating: "\n", count: firstLine - 1) + text }
}

public enum Cells {
    /// Is `line` a cell marker? Returns (title, isMarkdown).
    static func marker(_ line: String) -> (String?, Bool)? {
        var rest: Substring
        if line.hasPrefix("# %%") { rest = line.dropFirst(4) } else if line.hasPrefix("#%%") { rest = line.dropFirst(3) } else { return nil }
        guard rest.isEmpty || rest.first == " " || rest.first == "\t" else { return nil }
        var t = rest.trimmingCharacters(in: .whitespaces)
        var md = false
        for tag in ["[markdown]", "[md]"] where t.hasSuffix(tag) {
            md = true
            t = String(t.dropLast(tag.count)).trimmingCharacters(in: .whitespaces)
        }
        return (t.isEmpty ? nil : t, md)
    }

    /// Splits a file's text into cells. Blank lines at either end of a cell are dropped;
    /// code before the first marker is a cell when it is not blank.
    public static func split(_ text: String) -> [Cell] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
        var cells: [Cell] = []
        var cur = Cell(kind: .code, title: nil, firstLine: 1, text: "")
        var body: [String] = []
        func close() {
            var b = body
            var first = cur.firstLine
            while let f = b.first, f.trimmingCharacters(in: .whitespaces).isEmpty { b.removeFirst(); first += 1 }
            while let l = b.last, l.trimmingCharacters(in: .whitespaces).isEmpty { b.removeLast() }
            if cur.kind == .markdown {
                b = b.map { l in
                    if l.hasPrefix("# ") { return String(l.dropFirst(2)) }
                    if l.hasPrefix("#") { return String(l.dropFirst()) }
                    return l
                }
            }
            if !b.isEmpty || (cur.kind == .code && cur.title != nil) {
                var c = cur
                c.firstLine = first
                c.text = b.joined(separator: "\n")
                cells.append(c)
            }
            body = []
        }
        for (i, line) in lines.enumerated() {
            if let (title, md) = marker(line) {
                close()
                cur = Cell(kind: md ? .markdown : .code, title: title, firstLine: i + 2, text: "")
            } else {
                body.append(line)
            }
        }
        close()
        return cells
    }
}
