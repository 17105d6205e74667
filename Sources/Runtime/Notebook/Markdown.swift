// A small Markdown to HTML renderer for the Markdown cells of reports (docs/notebooks.md):
// headings, paragraphs, lists, block quotes, fenced code, pipe tables, horizontal rules, and
// inline code, bold, italic and links. Everything else is escaped text; raw HTML is not passed through.
import Foundation

enum Markdown {
    static func html(_ text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var out = "", para: [String] = [], i = 0
        func flush() {
            if !para.isEmpty { out += "<p>" + inline(para.joined(separator: " ")) + "</p>\n" }
            para = []
        }
        while i < lines.count {
            let line = lines[i]
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { flush(); i += 1; continue }
            if t.hasPrefix("```") {
                flush()
                var code: [String] = []
                i += 1
                while i < lines.count, !lines[i].trimmingCharacters(in: .whitespaces).hasPrefix("```") { code.append(lines[i]); i += 1 }
                out += "<pre class=\"md-code\">" + escapeXML(code.joined(separator: "\n")) + "</pre>\n"
                i += 1
                continue
            }
            if let h = t.firstIndex(where: { $0 != "#" }), t.hasPrefix("#"), t[h] == " " {
                flush()
                let level = min(6, t.distance(from: t.startIndex, to: h))
                out += "<h\(level)>" + inline(String(t[h...]).trimmingCharacters(in: .whitespaces)) + "</h\(level)>\n"
                i += 1
                continue
            }
            if t == "---" || t == "***" { flush(); out += "<hr>\n"; i += 1; continue }
            if t.hasPrefix("|") {
                var j = i
                while j < lines.count, lines[j].trimmingCharacters(in: .whitespaces).hasPrefix("|") { j += 1 }
                if let table = HTMLText.pipeTable(Array(lines[i..<j])) {
                    flush()
                    out += table.replacingOccurrences(of: "class=\"data\"", with: "class=\"data md\"")
                    i = j
                    continue
                }
            }
            if let (ordered, _) = listItem(t) {
                flush()
                let tag = ordered ? "ol" : "ul"
                out += "<\(tag)>\n"
                while i < lines.count, let (o, body) = listItem(lines[i].trimmingCharacters(in: .whitespaces)), o == ordered {
                    var item = body
                    i += 1
                    // Continuation lines (indented, not a new item).
                    while i < lines.count, lines[i].hasPrefix("  "), listItem(lines[i].trimmingCharacters(in: .whitespaces)) == nil,
                          !lines[i].trimmingCharacters(in: .whitespaces).isEmpty {
                        item += " " + lines[i].trimmingCharacters(in: .whitespaces)
                        i += 1
                    }
                    out += "<li>" + inline(item) + "</li>\n"
                }
                out += "</\(tag)>\n"
                continue
            }
            if t.hasPrefix(">") {
                flush()
                var q: [String] = []
                while i < lines.count, lines[i].trimmingCharacters(in: .whitespaces).hasPrefix(">") {
                    q.append(String(lines[i].trimmingCharacters(in: .whitespaces).dropFirst()).trimmingCharacters(in: .whitespaces))
                    i += 1
                }
                out += "<blockquote>" + html(q.joined(separator: "\n")) + "</blockquote>\n"
                continue
            }
            para.append(t)
            i += 1
        }
        flush()
        return out
    }

    /// (ordered, text) when `t` starts a list item ("- ", "* ", "1. ").
    static func listItem(_ t: String) -> (Bool, String)? {
        if t.hasPrefix("- ") || t.hasPrefix("* ") || t.hasPrefix("+ ") { return (false, String(t.dropFirst(2))) }
        if let dot = t.firstIndex(of: "."), dot > t.startIndex, t[..<dot].allSatisfy(\.isNumber),
           t.index(after: dot) < t.endIndex, t[t.index(after: dot)] == " " {
            return (true, String(t[t.index(dot, offsetBy: 2)...]))
        }
        return nil
    }

    /// Inline Markdown: `code`, **bold**, *italic* / _italic_, [text](url).
    static func inline(_ s: String) -> String {
        let c = Array(s)
        var out = "", i = 0
        func find(_ marker: [Character], from: Int) -> Int? {
            var j = from
            while j + marker.count <= c.count {
                if Array(c[j..<j + marker.count]) == marker { return j }
                j += 1
            }
            return nil
        }
        while i < c.count {
            let ch = c[i]
            if ch == "`", let e = find(["`"], from: i + 1) {
                out += "<code>" + escapeXML(String(c[(i + 1)..<e])) + "</code>"; i = e + 1; continue
            }
            if ch == "*", i + 1 < c.count, c[i + 1] == "*", let e = find(["*", "*"], from: i + 2), e > i + 2 {
                out += "<strong>" + inline(String(c[(i + 2)..<e])) + "</strong>"; i = e + 2; continue
            }
            if (ch == "*" || ch == "_"), i + 1 < c.count, c[i + 1] != " ", let e = find([ch], from: i + 1), e > i + 1,
               ch == "*" || i == 0 || !c[i - 1].isLetter {
                out += "<em>" + inline(String(c[(i + 1)..<e])) + "</em>"; i = e + 1; continue
            }
            if ch == "[", let close = find(["]", "("], from: i + 1), let end = find([")"], from: close + 2) {
                let url = String(c[(close + 2)..<end])
                let safe = !url.lowercased().hasPrefix("javascript:")
                out += (safe ? "<a href=\"\(escapeXML(url))\">" : "<a>") + inline(String(c[(i + 1)..<close])) + "</a>"
                i = end + 1
                continue
            }
            out += escapeXML(String(ch))
            i += 1
        }
        return out
    }
}
