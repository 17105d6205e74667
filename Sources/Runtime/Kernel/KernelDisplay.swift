// How the kernel shows a value: a MIME bundle (text/plain always; text/html for tables: a list
// of records, a record, or the pipe table `table()` returns). Every value the kernel shows goes
// through `KernelDisplay.bundle(for:)`, the one place to add figures (image/svg+xml, image/png)
// from the notebook's display model (docs/notebooks.md).
import Foundation

enum KernelDisplay {
    /// The MIME bundle of `v`.
    static func bundle(for v: Value) -> JSON {
        var b: JSON = ["text/plain": v.display()]
        if let html = table(for: v) { b["text/html"] = html }
        return b
    }

    /// An HTML table for a list of records, a record, or a Markdown pipe table string.
    static func table(for v: Value) -> String? {
        switch v {
        case .list(let l):
            let records = l.items.compactMap { item -> RecordBox? in
                if case .record(let r) = item { return r }
                return nil
            }
            guard !records.isEmpty, records.count == l.items.count else { return nil }
            var keys: [String] = []
            for r in records { for k in r.keys where !keys.contains(k) { keys.append(k) } }
            return html(header: keys, rows: records.map { r in keys.map { r.fields[$0].map(cell) ?? "" } })
        case .record(let r):
            guard !r.keys.isEmpty else { return nil }
            return html(header: ["field", "value"], rows: r.keys.map { [$0, cell(r.fields[$0]!)] })
        case .string(let s):
            return pipeTable(s)
        default:
            return nil
        }
    }

    /// A table cell: strings as they are, other values as their one-line summary.
    static func cell(_ v: Value) -> String {
        if case .string(let s) = v { return s }
        return v.summary(width: 60)
    }

    /// `| a | b |` lines with a `|---|` rule as the second line -> an HTML table.
    static func pipeTable(_ s: String) -> String? {
        let lines = s.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard lines.count >= 2, lines.allSatisfy({ $0.hasPrefix("|") && $0.hasSuffix("|") }),
              lines[1].allSatisfy({ "|-: ".contains($0) }) else { return nil }
        func cells(_ line: String) -> [String] {
            line.dropFirst().dropLast().split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        return html(header: cells(lines[0]), rows: lines.dropFirst(2).map(cells))
    }

    static func html(header: [String], rows: [[String]]) -> String {
        var out = "<table>\n<thead><tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for r in rows { out += "<tr>" + r.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n" }
        return out + "</tbody>\n</table>"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
