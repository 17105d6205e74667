// Script functions: a declaration plus the environment it was defined in.
import Lang

/// A function defined in a script (`fn name(...) { }` or `fn(...) { }`), with the scope it
/// captured.
public final class Closure {
    public let decl: FunctionDecl
    public let env: Environment
    /// The name used in tracebacks (the declared name, or the variable it was first bound to).
    public var name: String

    public init(decl: FunctionDecl, env: Environment) {
        self.decl = decl
        self.env = env
        self.name = decl.name ?? "fn"
    }

    /// "name(a, b = 2)".
    public var signature: String {
        let ps = decl.params.map { p in
            p.defaultValue.map { "\(p.name) = \($0.span.source.text(of: $0.span))" } ?? p.name
        }
        return "\(name)(\(ps.joined(separator: ", ")))"
    }

    /// The docstring: the `#` comment lines directly above the `fn` line (no blank line in
    /// between), without their `#`, joined by newlines; nil when there are none. Also the
    /// comment of `name = fn(...)` (docs/language.md, "Functions").
    public var docComment: String? {
        let src = decl.span.source
        var line = src.location(of: decl.span.start).line - 1
        var out: [String] = []
        while line >= 1 {
            let text = src.line(line).trimmingCharacters(in: .whitespaces)
            guard text.hasPrefix("#"), !text.hasPrefix("# %%") else { break }
            var body = text.dropFirst()
            if body.hasPrefix(" ") { body = body.dropFirst() }
            out.append(String(body))
            line -= 1
        }
        return out.isEmpty ? nil : out.reversed().joined(separator: "\n")
    }
}
