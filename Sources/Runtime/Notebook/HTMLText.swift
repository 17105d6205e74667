// Text to HTML for reports and display data: escaping, printed text in which Markdown pipe
// tables (table(), recipe_table()) become HTML tables, and records or lists of records as tables.
import Foundation

enum HTMLText {
    /// Printed text as HTML: runs of pipe-table lines become `<table>`, the rest `<pre>`.
    static func printed(_ text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var out = "", pre: [String] = [], i = 0
        func flush() {
            while pre.last == "" { pre.removeLast() }
            if !pre.isEmpty { out += "<pre class=\"out\">" + escapeXML(pre.joined(separator: "\n")) + "</pre>\n" }
            pre = []
        }
        while i < lines.count {
            var j = i
            while j < lines.count, lines[j].trimmingCharacters(in: .whitespaces).hasPrefix("|") { j += 1 }
            if j - i >= 2, let t = pipeTable(Array(lines[i..<j])) {
                flush()
                out += t
                i = j
            } else {
                pre.append(lines[i])
                i += 1
            }
        }
        flush()
        return out
    }

    /// A Markdown pipe table (header, `|---|` line, rows) as an HTML table, or nil if `lines` is not one.
    static func pipeTable(_ lines: [String]) -> String? {
        let rows = lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard rows.count >= 2, rows.allSatisfy({ $0.hasPrefix("|") && $0.hasSuffix("|") }),
              rows[1].allSatisfy({ "|-: ".contains($0) }) else { return nil }
        func cells(_ r: String) -> [String] {
            r.dropFirst().dropLast().split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        }
        func numeric(_ c: String) -> Bool {
            c == "-" || (c.first.map { $0.isNumber || $0 == "-" } == true && c.dropFirst().allSatisfy { $0.isNumber || ".%KMe-".contains($0) })
        }
        let body = rows.dropFirst(2).map(cells)
        // A column is right-aligned when every cell in it is a number.
        let width = body.map(\.count).max() ?? 0
        let right = (0..<width).map { i in body.allSatisfy { i < $0.count && numeric($0[i]) } }
        var h = "<table class=\"data\">\n<thead><tr>" + cells(rows[0]).map { "<th>\(escapeXML($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for r in body {
            h += "<tr>" + r.enumerated().map { i, c in
                i < right.count && right[i] ? "<td class=\"num\">\(escapeXML(c))</td>" : "<td>\(escapeXML(c))</td>"
            }.joined() + "</tr>\n"
        }
        return h + "</tbody></table>\n"
    }

    /// A record (two columns) or a list of records (one column per field) as an HTML table.
    static func table(for v: Value) -> String? {
        func cell(_ x: Value) -> String {
            if case .number(let d) = x { return "<td class=\"num\">\(escapeXML(formatNumber(d)))</td>" }
            return "<td>\(escapeXML(x.display()))</td>"
        }
        switch v {
        case .record(let r) where !r.keys.isEmpty:
            return "<table class=\"data record\">\n<tbody>\n" + r.keys.map { "<tr><th>\(escapeXML($0))</th>" + cell(r[$0] ?? .nil_) + "</tr>\n" }.joined() + "</tbody></table>\n"
        case .list(let l) where !l.items.isEmpty:
            var keys: [String] = []
            for item in l.items {
                guard case .record(let r) = item else { return nil }
                for k in r.keys where !keys.contains(k) { keys.append(k) }
            }
            var h = "<table class=\"data\">\n<thead><tr>" + keys.map { "<th>\(escapeXML($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
            for case .record(let r) in l.items { h += "<tr>" + keys.map { cell(r[$0] ?? .nil_) }.joined() + "</tr>\n" }
            return h + "</tbody></table>\n"
        default:
            return nil
        }
    }
}
