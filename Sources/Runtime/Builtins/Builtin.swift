// The builtin registry: one table of name -> (signature, doc, implementation), as in Lua/Wren.
// `help(name)`, REPL completion and docs/builtins.md are generated from it.

/// One builtin function (or bound method).
public final class Builtin {
    /// The name scripts call it by, e.g. "pgd" (for methods: "Tensor.sum").
    public let name: String
    /// The signature as shown by help, e.g. "pgd(eps:, step:, steps: 10, restarts: 1)".
    public let signature: String
    /// One paragraph: what it does, its arguments, what it returns.
    public let doc: String
    /// The implementation.
    public let fn: (Arguments, CallContext) throws -> Value

    public init(_ name: String, _ signature: String, doc: String,
                _ fn: @escaping (Arguments, CallContext) throws -> Value) {
        self.name = name
        self.signature = signature
        self.doc = doc
        self.fn = fn
    }
}

/// A group of builtins registered together. Each domain (core, tensor, model, data, attack,
/// training) provides one `static func register(into: inout BuiltinTable)`.
public struct BuiltinTable {
    public private(set) var byName: [String: Builtin] = [:]
    public private(set) var order: [String] = []
    public init() {}

    /// Adds a builtin; a later registration of the same name replaces the earlier one.
    public mutating func add(_ b: Builtin) {
        if byName[b.name] == nil { order.append(b.name) }
        byName[b.name] = b
    }

    /// Shorthand for `add(Builtin(...))`.
    public mutating func add(_ name: String, _ signature: String, doc: String,
                             _ fn: @escaping (Arguments, CallContext) throws -> Value) {
        add(Builtin(name, signature, doc: doc, fn))
    }
}
