// Tab completion: variables, builtins and keywords; fields of records, members of modules
// and host objects after `.`; file paths inside strings (readline's filename completion).
// A Tab with only whitespace before the cursor inserts a tab instead, as Python's REPL does, so
// pasted tab-indented code stays as it was (docs/reliability.md).
import CReadline
import Foundation
import Lang

enum Completion {
    nonisolated(unsafe) static var candidates: [String] = []
    nonisolated(unsafe) static var next = 0
    nonisolated(unsafe) static var pathBreaks: UnsafeMutablePointer<CChar>?

    /// Words completing `text` (the word before the cursor; may contain dots).
    static func complete(_ text: String, interp: Interpreter) -> [String] {
        if let dot = text.lastIndex(of: ".") {
            let path = text[..<dot].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            let prefix = String(text[text.index(after: dot)...])
            guard let first = path.first, var v = interp.globals.lookup(first) ?? interp.builtins.byName[first].map({ .builtin($0) }) else { return [] }
            for p in path.dropFirst() {
                guard let next = try? interp.member(v, p) else { return [] }
                v = next
            }
            let names: [String]
            switch v {
            case .record(let r): names = r.keys
            case .module(let m): names = m.exports
            case .object(let o): names = o.memberNames
            default: names = []
            }
            let base = String(text[...dot])
            return names.filter { $0.hasPrefix(prefix) }.sorted().map { base + $0 }
        }
        var names = Set(interp.globals.values.keys)
        names.formUnion(interp.builtins.order.filter { !$0.contains(".") })
        names.formUnion(Keyword.allCases.map(\.rawValue))
        return names.filter { $0.hasPrefix(text) }.sorted()
    }
}

extension REPL {
    func installCompletion() {
        rl_bind_key(9) { count, key in
            let before = rl_line_buffer.map { String(cString: $0).utf8.prefix(Int(rl_point)) } ?? "".utf8.prefix(0)
            if before.allSatisfy({ $0 == 32 || $0 == 9 }) {
                return rl_insert_text("\t") >= 0 ? 0 : 1
            }
            return rl_complete(count, key)
        }
        rl_completer_word_break_characters = UnsafePointer(strdup(" \t\n\"\\'`@$><=;|&{(+-*/%,[]:)"))
        // Inside a string only quotes and blanks break words, so a whole path is completed.
        Completion.pathBreaks = strdup(" \t\n\"")
        rl_completion_word_break_hook = {
            guard let buf = rl_line_buffer else { return nil }
            let before = String(cString: buf).utf8.prefix(Int(rl_point))
            var quotes = 0, escaped = false
            for c in before {
                if escaped { escaped = false; continue }
                if c == 92 { escaped = true } else if c == 34 { quotes += 1 }
            }
            return quotes % 2 == 1 ? Completion.pathBreaks : nil
        }
        rl_attempted_completion_function = { text, start, _ in
            // Inside a string: let readline complete file names.
            guard let buf = rl_line_buffer else { return nil }
            let before = String(cString: buf).utf8.prefix(Int(start))
            var quotes = 0, escaped = false
            for c in before {
                if escaped { escaped = false; continue }
                if c == 92 { escaped = true } else if c == 34 { quotes += 1 }
            }
            if quotes % 2 == 1 {
                rl_attempted_completion_over = 0
                return nil
            }
            rl_attempted_completion_over = 1
            guard let repl = REPLState.current, let t = text else { return nil }
            Completion.candidates = Completion.complete(String(cString: t), interp: repl.interp)
            Completion.next = 0
            if Completion.candidates.count == 1 {
                rl_completion_append_character = 0
            }
            return rl_completion_matches(t) { _, state in
                if state == 0 { Completion.next = 0 }
                guard Completion.next < Completion.candidates.count else { return nil }
                let s = Completion.candidates[Completion.next]
                Completion.next += 1
                return strdup(s)
            }
        }
    }
}
