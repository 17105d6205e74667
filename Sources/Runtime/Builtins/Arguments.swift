// Arguments passed to a builtin, with checked accessors that produce clear errors naming
// the argument: `try args.number("eps", at: 0)`, `try args.int("steps", default: 10)`.
// Unknown names, extra positional values and missing required arguments are rejected before
// the body runs, from the builtin's declaration (Signature.swift).
import Engine
import Tensor
import Foundation

/// The arguments of one call: positional values, then named ones.
public struct Arguments {
    public var positional: [Value]
    public var named: [(name: String, value: Value)]
    /// The builtin's name, used in error messages ("pgd: eps must be ...").
    public var callee: String
    /// The declaration the arguments were checked against (set by `Builtin.call`).
    public var declaration: Signature?

    /// Test hook: when set, every read of an argument the declaration does not have (or at
    /// another position than declared) is reported, e.g. "sweep reads 'precision', not declared".
    public nonisolated(unsafe) static var audit: ((String) -> Void)?

    public init(_ positional: [Value], named: [(name: String, value: Value)] = [], callee: String = "") {
        self.positional = positional
        self.named = named
        self.callee = callee
    }

    /// The value of an argument given by name or, when `at` is set, by position.
    public func value(_ name: String, at index: Int? = nil) -> Value? {
        if let report = Arguments.audit, let d = declaration, let problem = d.misread(name, at: index) {
            report("\(callee) \(problem)")
        }
        if let v = named.first(where: { $0.name == name })?.value { return v }
        if let i = index, i < positional.count { return positional[i] }
        return nil
    }

    /// Fails when a named argument is not among `allowed` or there are more than `maxPositional`
    /// positional ones. Declared builtins need not call it (their declaration is checked before
    /// the body runs); it stays for code that checks arguments by hand.
    public func check(allowed: [String], maxPositional: Int) throws {
        if positional.count > maxPositional {
            throw RuntimeError.arguments("\(callee) takes at most \(maxPositional) positional argument\(maxPositional == 1 ? "" : "s"), got \(positional.count)")
        }
        for (n, _) in named where !allowed.contains(n) {
            var msg = "\(callee) has no argument named '\(n)'"
            if let s = nearest(n, in: allowed) { msg += "; did you mean '\(s)'?" }
            if !allowed.isEmpty { msg += " (arguments: \(allowed.joined(separator: ", ")))" }
            throw RuntimeError.arguments(msg)
        }
    }

    func missing(_ name: String) -> RuntimeError {
        RuntimeError.arguments("\(callee): missing argument '\(name)'")
    }

    func wrong(_ name: String, _ expected: String, _ got: Value) -> RuntimeError {
        RuntimeError.type("\(callee): argument '\(name)' must be \(expected), got \(got.typeName)")
    }

    public func has(_ name: String, at index: Int? = nil) -> Bool {
        if let v = value(name, at: index), case .nil_ = v { return false }
        return value(name, at: index) != nil
    }

    public func number(_ name: String, at index: Int? = nil) throws -> Double {
        guard let v = value(name, at: index) else { throw missing(name) }
        guard case .number(let d) = v else { throw wrong(name, "a number", v) }
        guard d.isFinite else { throw RuntimeError.arguments("\(callee): argument '\(name)' must be finite, got \(d)") }
        return d
    }

    public func number(_ name: String, at index: Int? = nil, default d: Double) throws -> Double {
        has(name, at: index) ? try number(name, at: index) : d
    }

    public func int(_ name: String, at index: Int? = nil) throws -> Int {
        let d = try number(name, at: index)
        guard d == d.rounded() else {
            throw RuntimeError.type("\(callee): argument '\(name)' must be a whole number, got \(d)")
        }
        guard abs(d) < 1e15 else {
            throw RuntimeError.arguments("\(callee): argument '\(name)' is too large in magnitude (at most 1e15), got \(d)")
        }
        return Int(d)
    }

    public func int(_ name: String, at index: Int? = nil, default d: Int) throws -> Int {
        has(name, at: index) ? try int(name, at: index) : d
    }

    public func bool(_ name: String, at index: Int? = nil, default d: Bool) throws -> Bool {
        guard has(name, at: index), let v = value(name, at: index) else { return d }
        guard case .bool(let b) = v else { throw wrong(name, "true or false", v) }
        return b
    }

    public func string(_ name: String, at index: Int? = nil) throws -> String {
        guard let v = value(name, at: index) else { throw missing(name) }
        guard case .string(let s) = v else { throw wrong(name, "a string", v) }
        return s
    }

    public func string(_ name: String, at index: Int? = nil, default d: String) throws -> String {
        has(name, at: index) ? try string(name, at: index) : d
    }

    /// A string restricted to `choices`; the error lists them.
    public func choice(_ name: String, at index: Int? = nil, _ choices: [String], default d: String) throws -> String {
        let s = try string(name, at: index, default: d)
        guard choices.contains(s) else {
            var msg = "\(callee): argument '\(name)' must be one of \(choices.map { "\"\($0)\"" }.joined(separator: ", ")), got \"\(s)\""
            if let n = nearest(s, in: choices) { msg += "; did you mean \"\(n)\"?" }
            throw RuntimeError.arguments(msg)
        }
        return s
    }

    public func list(_ name: String, at index: Int? = nil) throws -> [Value] {
        guard let v = value(name, at: index) else { throw missing(name) }
        guard case .list(let l) = v else { throw wrong(name, "a list", v) }
        return l.items
    }

    /// A list of numbers (or a single number, as a one-element list).
    public func numbers(_ name: String, at index: Int? = nil) throws -> [Double] {
        guard let v = value(name, at: index) else { throw missing(name) }
        switch v {
        case .number(let d): return [d]
        case .list(let l):
            return try l.items.map { item in
                guard case .number(let d) = item else { throw wrong(name, "a list of numbers", item) }
                return d
            }
        default: throw wrong(name, "a list of numbers", v)
        }
    }

    /// A host object of type `T` (e.g. a Tensor wrapper); the error names the expected type.
    public func object<T: HostObject>(_ name: String, at index: Int? = nil, as type: T.Type, expected: String) throws -> T {
        guard let v = value(name, at: index) else { throw missing(name) }
        guard case .object(let o) = v, let t = o as? T else { throw wrong(name, expected, v) }
        return t
    }
}

/// What a builtin may use of the interpreter: calling script functions back, printing,
/// checking for Ctrl-C.
public protocol CallContext: AnyObject {
    /// Calls a script value (closure, builtin or callable object) with the given arguments.
    func call(_ callee: Value, _ args: Arguments) throws -> Value
    /// Writes to the script's standard output (tests capture it).
    func write(_ text: String)
    /// Throws `RuntimeError.interrupted` when the user pressed Ctrl-C. Long loops call it.
    func checkInterrupt() throws
}

/// The nearest of `candidates` to `word` by edit distance, if close enough to suggest.
public func nearest(_ word: String, in candidates: [String]) -> String? {
    // Edit distance counting a swap of neighbours as one edit ("pirnt" -> "print").
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev2 = Array(repeating: 0, count: b.count + 1)
        var prev = Array(0...b.count), cur = prev
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    cur[j] = min(cur[j], prev2[j - 2] + 1)
                }
            }
            prev2 = prev
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
    let w = Array(word.lowercased())
    var best: (String, Int)?
    for c in candidates {
        let d = distance(w, Array(c.lowercased()))
        if d <= max(1, w.count / 3), d < (best?.1 ?? Int.max) { best = (c, d) }
    }
    return best?.0
}

extension Arguments {
    /// The arguments with a named `alias` renamed to `name` (one name per concept across the
    /// builtins, the other accepted silently: `size:` for `image:`, docs/language.md "Names").
    /// Giving both is an error naming them.
    public func aliasing(_ alias: String, as name: String) throws -> Arguments {
        guard named.contains(where: { $0.name == alias }) else { return self }
        if named.contains(where: { $0.name == name }) {
            throw RuntimeError.arguments("\(callee): give '\(name)' or its alias '\(alias)', not both")
        }
        var a = self
        a.named = named.map { $0.name == alias ? (name: name, value: $0.value) : $0 }
        return a
    }

    /// Names accepted silently in place of a declared parameter (alias -> parameter).
    static let aliases: [String: String] = ["size": "image"]

    /// The arguments with every alias of `aliases` renamed, for a declaration that has the
    /// parameter and not the alias (`Builtin.call` applies it before checking).
    func applyingAliases(for d: Signature) throws -> Arguments {
        var a = self
        let names = d.argumentNames
        for (alias, name) in Arguments.aliases where names.contains(name) && !names.contains(alias) {
            a = try a.aliasing(alias, as: name)
        }
        return a
    }
}
