// docs/builtins.md is generated from the registry: `adv --builtins-markdown > docs/builtins.md`.

public enum BuiltinsMarkdown {
    /// The reference of every builtin: name, signature and doc, in registration order.
    public static func generate(_ table: BuiltinTable = Registry.standard()) -> String {
        var out = "# Builtins\n\n"
        out += "Generated from the builtin registry by `adv --builtins-markdown`; do not edit by hand.\n"
        out += "In the REPL, `help(name)` or `:help name` shows the same text.\n\n"
        let names = table.order
        out += names.map { "[`\($0)`](#\(anchor($0)))" }.joined(separator: " · ") + "\n"
        for n in names {
            guard let b = table.byName[n] else { continue }
            out += "\n## \(n)\n\n```\n\(b.signature)\n```\n\n\(b.doc)\n"
        }
        return out
    }

    static func anchor(_ name: String) -> String {
        String(name.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" })
    }
}
