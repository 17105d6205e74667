// Tab completion: variables, builtins and keywords; fields of records, members of modules
// and host objects after `.`; the keyword arguments of the call being typed (`pgd(e` ->
// `eps:`, from the builtin's declaration or the function's parameters; a silent alias such as
// `size:` when what is typed matches it and no declared name); file paths inside
// strings (readline's filename completion). A Tab with only whitespace before the cursor
// inserts a tab instead, as Python's REPL does, so pasted tab-indented code stays as it was
// (docs/reliability.md).
import CReadline
import Foundation
import Lang

enum Completion {
    nonisolated(unsafe) static var candidates: [String] = []
    nonisolated(unsafe) static var next = 0
    nonisolated(unsafe) static var pathBreaks: UnsafeMutablePointer<CChar>?

    /// Words completing `text` (the word before the cursor; may contain dots). `before` is the
    /// line up to the start of `text`: when `text` begins an argument of a call, the call's
    /// keyword arguments that start with `text` come first (alone, when any matches).
    static func complete(_ text: String, before: String = "", interp: Interpreter) -> [String] {
        if !text.contains("."), let names = keywordArguments(before, interp: interp) {
            var matches = names.filter { $0.hasPrefix(text) }.map { $0 + ":" }
            // A silent alias (`size:` for `image:`) only when the typed prefix names it alone.
            if matches.isEmpty, !text.isEmpty {
                matches = Arguments.aliases.filter { $0.key.hasPrefix(text) && names.contains($0.value) }.keys.sorted().map { $0 + ":" }
            }
            if !matches.isEmpty { return matches }
        }
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

    /// The keyword arguments still open in the call whose argument list `before` ends in (just
    /// after `(` or `,`), in declaration order; nil when `before` is not at an argument's start.
    static func keywordArguments(_ before: String, interp: Interpreter) -> [String]? {
        // The innermost unclosed bracket outside strings, and the text since it.
        var opens: [String.Index] = []
        var inString = false, escaped = false
        for i in before.indices {
            let c = before[i]
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" { inString = true }
            else if "([{".contains(c) { opens.append(i) }
            else if ")]}".contains(c) { _ = opens.popLast() }
        }
        guard !inString, let open = opens.last, before[open] == "(" else { return nil }
        let args = before[before.index(after: open)...]
        let last = args.last { !$0.isWhitespace }
        guard last == nil || last == "," else { return nil }
        // The callee: the dotted name right before the parenthesis.
        let head = before[..<open]
        let path = String(head.reversed().prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }.reversed())
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, !first.isEmpty,
              var v = interp.globals.lookup(first) ?? interp.builtins.byName[first].map({ .builtin($0) }) else { return nil }
        for p in parts.dropFirst() {
            guard let next = try? interp.member(v, p) else { return nil }
            v = next
        }
        var names: [String]
        switch v {
        case .builtin(let b): names = b.declaration.argumentNames
        case .function(let c): names = c.decl.params.map(\.name)
        default: return nil
        }
        // Drop the names already given in this call (`name:` at depth 0 of the argument list).
        let given = Set(Signature.splitTopLevel(String(args)).compactMap { piece -> String? in
            let t = piece.trimmingCharacters(in: .whitespaces)
            guard let colon = t.firstIndex(of: ":") else { return nil }
            return String(t[..<colon]).trimmingCharacters(in: .whitespaces)
        })
        names.removeAll { given.contains($0) }
        return names
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
            let line = String(decoding: String(cString: buf).utf8.prefix(Int(start)), as: UTF8.self)
            Completion.candidates = Completion.complete(String(cString: t), before: line, interp: repl.interp)
            Completion.next = 0
            if Completion.candidates.count == 1 {
                // A keyword argument gets its space (`eps: `); other words may go on (`rec.alpha.`).
                rl_completion_append_character = Completion.candidates[0].hasSuffix(":") ? 32 : 0
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
