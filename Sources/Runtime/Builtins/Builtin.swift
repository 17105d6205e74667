// The builtin registry: one table of declarations (signature, doc, body), as in Lua/Wren.
// Argument checking, `help(name)`, REPL completion and docs/builtins.md all come from it
// (docs/architecture.md "Adding a builtin"; the declaration grammar is in Signature.swift).
import Engine
import Foundation
import Tensor

/// One builtin function (or bound method), declared once.
public final class Builtin {
    /// The name scripts call it by, e.g. "pgd" (for methods: "Tensor.sum").
    public let name: String
    /// The signature as shown by help, e.g. "pgd(eps, step = eps/4, steps = 10, restarts: 1)".
    public var signature: String { declaration.text }
    /// The parsed signature: the parameters `call` checks arguments against.
    public let declaration: Signature
    /// Why the signature did not parse (nil when it did; the registry test fails on any).
    public let declarationError: String?
    /// The documentation: paragraphs separated by blank lines; the first is a short summary.
    public let doc: String
    /// The implementation; `call` runs it after checking the arguments.
    public let fn: (Arguments, CallContext) throws -> Value
    /// Whether `call` checks arguments against the declaration (false for a dispatcher that
    /// passes them on to another builtin's `call`).
    public let checksArguments: Bool

    /// Declares a builtin. `doc` may be a multi-line string literal: lines of one paragraph are
    /// joined, blank lines separate paragraphs.
    public convenience init(_ name: String, _ signature: String, doc: String, checksArguments: Bool = true,
                _ fn: @escaping (Arguments, CallContext) throws -> Value) {
        let parsed: Signature
        var failure: String?
        do { parsed = try Signature(parsing: signature) } catch {
            failure = "\(error)"
            parsed = Signature(unchecked: signature)
        }
        self.init(name, declaration: parsed, error: failure, doc: Builtin.paragraphs(doc),
                  checksArguments: checksArguments && failure == nil, fn)
    }

    /// A builtin sharing an already parsed declaration (bound methods: parsed once per type).
    init(_ name: String, declaration: Signature, error: String?, doc: String, checksArguments: Bool,
         _ fn: @escaping (Arguments, CallContext) throws -> Value) {
        self.name = name
        self.declaration = declaration
        self.declarationError = error
        self.doc = doc
        self.checksArguments = checksArguments
        self.fn = fn
    }

    /// Checks `args` against the declaration, then runs the body.
    public func call(_ args: Arguments, _ ctx: CallContext) throws -> Value {
        var a = args
        if a.callee.isEmpty { a.callee = name }
        if checksArguments {
            a = try a.applyingAliases(for: declaration)  // size: for image: (Arguments.aliases)
            try declaration.check(a)
            a.declaration = declaration
        }
        return try fn(a, ctx)
    }

    /// The first paragraph of the doc.
    public var summary: String { doc.components(separatedBy: "\n\n").first ?? doc }

    /// Normalises a doc written over several source lines: the lines of a paragraph are joined
    /// with single spaces, paragraphs are separated by one blank line.
    static func paragraphs(_ text: String) -> String {
        var out: [String] = [], cur: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let l = line.trimmingCharacters(in: .whitespaces)
            if l.isEmpty {
                if !cur.isEmpty { out.append(cur.joined(separator: " ")); cur = [] }
            } else {
                cur.append(l)
            }
        }
        if !cur.isEmpty { out.append(cur.joined(separator: " ")) }
        return out.joined(separator: "\n\n")
    }
}

extension Signature {
    /// The text of a signature that did not parse, with no parameters (no checks).
    init(unchecked text: String) {
        self.text = text
        self.name = String(text.prefix { $0 != "(" })
        self.parameters = []
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

    /// Declares a builtin: `t.add("pgd", "pgd(eps, step = eps/4)", doc: "...") { args, ctx in ... }`.
    public mutating func add(_ name: String, _ signature: String, doc: String,
                             _ fn: @escaping (Arguments, CallContext) throws -> Value) {
        add(Builtin(name, signature, doc: doc, fn))
    }
}

/// Runs engine code, turning its errors into runtime errors: the one wrapper every builtin uses.
/// Ctrl-C inside the engine (`EngineError.interrupted`) stays an interruption, so the REPL says
/// "interrupted (variables are kept)" instead of reporting an ordinary error.
func engine<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch EngineError.interrupted {
        throw RuntimeError.interrupted
    } catch let e as EngineError {
        throw RuntimeError.engine(e)
    }
}
