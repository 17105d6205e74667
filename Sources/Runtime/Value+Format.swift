// How values print: numbers without a trailing ".0" when whole, shortest round-trip
// otherwise; nested lists and records up to a depth limit.
import Foundation

/// Formats a number: `3` not `3.0`; `0.1`; `1e-05`; `inf`, `-inf`, `nan`.
public func formatNumber(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d < 0 ? "-inf" : "inf" }
    if d == d.rounded(), abs(d) < 1e16 {
        if d == 0 { return "0" }  // also -0
        return String(Int64(d))
    }
    return "\(d)"
}

extension Value {
    /// Nesting deeper than this prints as `[...]` / `{...}`.
    public static let printDepth = 6
    /// Lists longer than this print their first items and a count of the rest.
    public static let printItems = 100

    /// The text `print` shows: strings without quotes, everything else as `repr`.
    public func display() -> String {
        if case .string(let s) = self { return s }
        return repr(depth: 0)
    }

    /// A readable form with strings quoted, as inside lists and in the REPL.
    public func repr(depth: Int = 0) -> String {
        switch self {
        case .nil_: return "nil"
        case .bool(let b): return b ? "true" : "false"
        case .number(let d): return formatNumber(d)
        case .string(let s): return quoteString(s)
        case .list(let l):
            if l.items.isEmpty { return "[]" }
            if depth >= Value.printDepth { return "[...]" }
            var parts = l.items.prefix(Value.printItems).map { $0.repr(depth: depth + 1) }
            if l.items.count > Value.printItems { parts.append("... (\(l.items.count - Value.printItems) more)") }
            return "[" + parts.joined(separator: ", ") + "]"
        case .record(let r):
            if r.keys.isEmpty { return "{}" }
            if depth >= Value.printDepth { return "{...}" }
            var parts = r.keys.prefix(Value.printItems).map { k in "\(k): \(r.fields[k]?.repr(depth: depth + 1) ?? "nil")" }
            if r.keys.count > Value.printItems { parts.append("... (\(r.keys.count - Value.printItems) more)") }
            return "{" + parts.joined(separator: ", ") + "}"
        case .function(let c): return "<fn \(c.signature)>"
        case .builtin(let b): return "<builtin \(b.signature)>"
        case .module(let m): return "<module \(m.name)>"
        case .object(let o): return o.describe(depth: depth)
        }
    }

    /// A one-line summary (for `:vars`), cut to `width` characters.
    public func summary(width: Int = 60) -> String {
        let s = repr().replacingOccurrences(of: "\n", with: " ")
        return s.count > width ? String(s.prefix(width - 3)) + "..." : s
    }
}

/// `"text"` with quotes, backslashes, braces and control characters escaped.
public func quoteString(_ s: String) -> String {
    var out = "\""
    for ch in s {
        switch ch {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        case "{": out += "\\{"
        case "}": out += "\\}"
        default: out.append(ch)
        }
    }
    return out + "\""
}
