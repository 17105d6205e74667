// The editing help a notebook asks for while a cell is typed (docs/notebooks.md):
// complete_request (the REPL's completion: names, fields, methods, keyword arguments, and file
// paths inside strings), inspect_request (the help text of the name under the cursor) and
// is_complete_request (an open bracket or block continues, with an indent).
import Foundation
import Lang

extension Kernel {
    /// The text before the cursor (`cursor_pos` counts Unicode code points, protocol 5.2+).
    static func prefix(_ code: String, _ cursor: Int) -> String {
        String(String.UnicodeScalarView(code.unicodeScalars.prefix(max(0, cursor))))
    }

    static func isWordChar(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "." }

    func complete(_ content: JSON) -> JSON {
        let code = content["code"] as? String ?? ""
        let cursor = content["cursor_pos"] as? Int ?? code.unicodeScalars.count
        let before = Kernel.prefix(code, cursor)
        var matches: [String]
        var word: String
        if Kernel.insideString(before) {
            word = String(before.reversed().prefix { $0 != "\"" }.reversed())
            matches = Kernel.paths(word)
        } else {
            word = String(before.reversed().prefix(while: Kernel.isWordChar).reversed())
            let line = String(before.dropLast(word.count))
            matches = Completion.complete(word, before: line, interp: interp)
        }
        let start = cursor - word.unicodeScalars.count
        return ["status": "ok", "matches": matches, "cursor_start": start, "cursor_end": cursor, "metadata": JSON()]
    }

    /// Whether `before` ends inside a string literal (an odd number of unescaped quotes).
    static func insideString(_ before: String) -> Bool {
        var quotes = 0, escaped = false
        for c in before {
            if escaped { escaped = false; continue }
            if c == "\\" { escaped = true } else if c == "\"" { quotes += 1 }
        }
        return quotes % 2 == 1
    }

    /// Files and directories (with a trailing "/") whose path starts with `partial`.
    static func paths(_ partial: String) -> [String] {
        let slash = partial.lastIndex(of: "/")
        let dir = slash.map { String(partial[...$0]) } ?? ""
        let stem = slash.map { String(partial[partial.index(after: $0)...]) } ?? partial
        let fm = FileManager.default
        let expanded = (dir as NSString).expandingTildeInPath
        guard let names = try? fm.contentsOfDirectory(atPath: dir.isEmpty ? "." : expanded) else { return [] }
        return names.filter { $0.hasPrefix(stem) && (stem.hasPrefix(".") || !$0.hasPrefix(".")) }.sorted().map { n in
            var isDir: ObjCBool = false
            _ = fm.fileExists(atPath: (dir.isEmpty ? "" : expanded + "/") + n, isDirectory: &isDir)
            return dir + n + (isDir.boolValue ? "/" : "")
        }
    }

    func inspect(_ content: JSON) -> JSON {
        let code = content["code"] as? String ?? ""
        let cursor = content["cursor_pos"] as? Int ?? code.unicodeScalars.count
        let before = Kernel.prefix(code, cursor)
        let after = String(code.unicodeScalars.dropFirst(before.unicodeScalars.count))
        var name = String(before.reversed().prefix(while: Kernel.isWordChar).reversed())
            + String(after.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
        // On `f(` or inside its arguments, the call's callee.
        if name.isEmpty, let open = before.lastIndex(of: "(") {
            name = String(before[..<open].reversed().prefix(while: Kernel.isWordChar).reversed())
        }
        let first = String(name.split(separator: ".").first ?? "")
        guard !name.isEmpty, interp.globals.lookup(first) != nil || interp.builtins.byName[first] != nil
                || interp.builtins.byName[name] != nil else {
            return ["status": "ok", "found": false, "data": JSON(), "metadata": JSON()]
        }
        let text = CoreBuiltins.helpText(REPL(interp: interp).helpTarget(name), interp)
        return ["status": "ok", "found": true, "data": ["text/plain": text], "metadata": JSON()]
    }

    func isComplete(_ content: JSON) -> JSON {
        let code = content["code"] as? String ?? ""
        if Parser.isIncomplete(code) {
            return ["status": "incomplete", "indent": String(repeating: "    ", count: max(1, Kernel.openBrackets(code)))]
        }
        let (_, diags) = Parser.parse(SourceFile(name: "<cell>", text: code))
        return ["status": diags.isEmpty ? "complete" : "invalid"]
    }

    /// How many brackets are open at the end of `code` (outside strings).
    static func openBrackets(_ code: String) -> Int {
        var depth = 0, inString = false, escaped = false
        for c in code {
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" { inString = true }
            else if "([{".contains(c) { depth += 1 }
            else if ")]}".contains(c) { depth = max(0, depth - 1) }
        }
        return depth
    }
}
