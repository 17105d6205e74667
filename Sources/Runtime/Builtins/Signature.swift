// A builtin's declared parameters, parsed once from the signature text help shows
// (docs/architecture.md "Adding a builtin"). The grammar is Python's, written the adv way:
//
//   pgd(eps, step = eps/4, steps = 10, restarts: 1, target: nil)
//
//   x            required; by position or by name (`pgd(4/255)` or `pgd(eps: 4/255)`)
//   x = default  optional; by position or by name
//   x:           required; by name only
//   x: default   optional; by name only
//   xs...        any number of further positional values (`print(values..., sep: " ")`)
//
// A default is shown as written (an expression or words such as `built size`); the body applies
// it. Before a body runs, `check` rejects what the declaration rules out: an unknown name (with a
// did-you-mean), too many positional values, a value given both by position and by name, and a
// missing required argument. So a body only reads and converts its arguments.
import Foundation

/// One declared parameter of a builtin or method.
public struct Parameter: Equatable {
    /// How an argument reaches the parameter.
    public enum Kind: Equatable {
        /// By position (in declaration order) or by name.
        case positional
        /// By name only.
        case named
        /// The rest of the positional values (`values...`); never by name.
        case variadic
    }

    public let name: String
    public let kind: Kind
    /// The default as written in the signature (nil: the argument is required).
    public let defaultText: String?

    public var isRequired: Bool { defaultText == nil && kind != .variadic }
}

/// A parsed signature: the callable's name and its parameters.
public struct Signature {
    /// The text as written, e.g. "pgd(eps, step = eps/4, steps = 10, restarts: 1)".
    public let text: String
    /// The name before the parenthesis without a receiver ("pgd"; "sum" for "t.sum(...)").
    public let name: String
    public let parameters: [Parameter]

    /// Parameters that take positional values, in order (a variadic one last).
    public var positional: [Parameter] { parameters.filter { $0.kind != .named } }
    /// Every name an argument may be given by (not the variadic one).
    public var argumentNames: [String] { parameters.filter { $0.kind != .variadic }.map(\.name) }

    /// Parses `text`; the error says what is wrong and where.
    public init(parsing text: String) throws {
        self.text = text
        guard let open = text.firstIndex(of: "("), text.hasSuffix(")") else {
            throw SignatureError("'\(text)' is not of the form name(parameters)")
        }
        let head = text[..<open]
        self.name = String(head.split(separator: ".").last ?? head)
        guard Signature.isIdentifier(name) else { throw SignatureError("'\(head)' is not a name in '\(text)'") }
        let inner = text[text.index(after: open)..<text.index(before: text.endIndex)]
        var params: [Parameter] = []
        for piece in Signature.splitTopLevel(String(inner)) {
            let p = try Signature.parameter(piece, in: text)
            if params.contains(where: { $0.name == p.name }) { throw SignatureError("parameter '\(p.name)' is declared twice in '\(text)'") }
            if let last = params.last, last.kind == .variadic, p.kind != .named {
                throw SignatureError("'\(p.name)' follows the variadic '\(last.name)...' in '\(text)'; only named parameters may")
            }
            if p.kind != .named, params.contains(where: { $0.kind == .named }) {
                throw SignatureError("positional '\(p.name)' follows a named parameter in '\(text)'")
            }
            params.append(p)
        }
        self.parameters = params
    }

    static func parameter(_ piece: String, in text: String) throws -> Parameter {
        let s = piece.trimmingCharacters(in: .whitespaces)
        if s.hasSuffix("...") {
            let n = String(s.dropLast(3))
            guard isIdentifier(n) else { throw SignatureError("'\(s)' is not a variadic parameter (name...) in '\(text)'") }
            return Parameter(name: n, kind: .variadic, defaultText: nil)
        }
        // The first ':' or '=' outside brackets separates the name from its default.
        guard let sep = s.firstIndex(where: { $0 == ":" || $0 == "=" }) else {
            guard isIdentifier(s) else { throw SignatureError("'\(s)' is not a parameter name in '\(text)'") }
            return Parameter(name: s, kind: .positional, defaultText: nil)
        }
        let n = s[..<sep].trimmingCharacters(in: .whitespaces)
        let d = s[s.index(after: sep)...].trimmingCharacters(in: .whitespaces)
        guard isIdentifier(n) else { throw SignatureError("'\(n)' is not a parameter name in '\(text)'") }
        if s[sep] == "=" {
            guard !d.isEmpty else { throw SignatureError("'\(n) =' needs a default in '\(text)'") }
            return Parameter(name: n, kind: .positional, defaultText: d)
        }
        return Parameter(name: n, kind: .named, defaultText: d.isEmpty ? nil : d)
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let f = s.first, f.isLetter || f == "_" else { return false }
        return s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }

    /// Splits at commas outside brackets and string literals.
    static func splitTopLevel(_ s: String) -> [String] {
        var parts: [String] = [], cur = "", depth = 0, inString = false, escaped = false
        for c in s {
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" { inString = true }
            else if "([{".contains(c) { depth += 1 }
            else if ")]}".contains(c) { depth -= 1 }
            else if c == ",", depth == 0 { parts.append(cur); cur = ""; continue }
            cur.append(c)
        }
        if !cur.trimmingCharacters(in: .whitespaces).isEmpty || !parts.isEmpty { parts.append(cur) }
        return parts
    }

    /// Rejects arguments the declaration rules out; messages start with `args.callee`.
    public func check(_ args: Arguments) throws {
        let callee = args.callee.isEmpty ? name : args.callee
        let slots = positional
        let variadic = slots.last?.kind == .variadic
        if !variadic, args.positional.count > slots.count {
            let n = slots.count
            throw RuntimeError.arguments("\(callee) takes at most \(n) positional argument\(n == 1 ? "" : "s"), got \(args.positional.count)")
        }
        let names = argumentNames
        for (i, (n, _)) in args.named.enumerated() {
            guard let k = slots.firstIndex(where: { $0.name == n }) ?? (names.contains(n) ? Int.max : nil) else {
                var msg = "\(callee) has no argument named '\(n)'"
                if let s = nearest(n, in: names) { msg += "; did you mean '\(s)'?" }
                if !names.isEmpty { msg += " (arguments: \(names.joined(separator: ", ")))" }
                throw RuntimeError.arguments(msg)
            }
            if args.named[..<i].contains(where: { $0.name == n }) {
                throw RuntimeError.arguments("\(callee): argument '\(n)' is given twice")
            }
            if k < args.positional.count, positionsInOrder {
                throw RuntimeError.arguments("\(callee): argument '\(n)' given both by position and by name")
            }
        }
        // Positional values fill the required parameters first (`range(5)` is stop), so a
        // required parameter is there when named or when enough values came.
        var requiredSeen = 0
        for p in parameters where p.isRequired {
            defer { if p.kind == .positional { requiredSeen += 1 } }
            if args.named.contains(where: { $0.name == p.name }) { continue }
            if p.kind == .positional, args.positional.count > requiredSeen { continue }
            throw RuntimeError.arguments("\(callee): missing argument '\(p.name)'")
        }
    }

    /// What is wrong with a body reading argument `name` (at position `index`), or nil when the
    /// declaration has it there. Positions past a variadic parameter may be read by any name.
    func misread(_ name: String, at index: Int?) -> String? {
        let slots = positional
        if let i = index, let v = slots.firstIndex(where: { $0.kind == .variadic }), i >= v { return nil }
        guard let p = parameters.first(where: { $0.name == name && $0.kind != .variadic }) else {
            return "reads '\(name)', which its declaration does not have"
        }
        guard positionsInOrder else { return nil }
        let declared = slots.firstIndex(of: p)
        guard declared == index else {
            return "reads '\(name)' at position \(index.map(String.init) ?? "none"), declared at \(declared.map(String.init) ?? "none (by name only)")"
        }
        return nil
    }

    /// Whether positional values land in declaration order. Not so when an optional positional
    /// parameter comes before a required one: `range(5)` is `range(stop: 5)`.
    var positionsInOrder: Bool {
        let slots = positional
        guard let firstOptional = slots.firstIndex(where: { !$0.isRequired }) else { return true }
        return !slots[firstOptional...].contains { $0.isRequired }
    }
}

/// A signature that does not parse (a mistake in the source; the registry test reports it).
public struct SignatureError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}
