// The fields and methods of one script object type (Tensor, Model, Dataset, Recipe, ...),
// declared the way builtins are (docs/architecture.md "Adding a builtin"):
//
//   static let members: Members<TensorObject> = {
//       var m = Members<TensorObject>("Tensor")
//       m.field("ndim") { .number(Double($0.tensor.rank)) }
//       m.add("sum", "t.sum(dim = nil, keepdim: false)", doc: "...") { t, a, _ in ... }
//       return m
//   }()
//
// `member(name)` returns a field's value or the method bound to the object (a `Builtin` named
// "Tensor.sum" sharing the declaration parsed once here); `memberNames` (completion, help,
// did-you-mean, docs/builtins.md) is the declaration order. `callable` declares `obj(args)`.

/// The members of script objects of type `Receiver`.
public struct Members<Receiver: AnyObject> {
    /// The type name methods are prefixed with ("Tensor" -> "Tensor.sum").
    public let typeName: String
    /// Field and method names, in declaration order.
    public private(set) var names: [String] = []
    private var fields: [String: (Receiver) throws -> Value] = [:]
    private var methods: [String: (template: Builtin, fn: (Receiver, Arguments, CallContext) throws -> Value)] = [:]
    /// The declaration of calling the object itself, `obj(args)` (nil: not callable).
    public private(set) var callable: (template: Builtin, fn: (Receiver, Arguments, CallContext) throws -> Value)?

    public init(_ typeName: String) { self.typeName = typeName }

    /// Declares a field: `obj.name` gives `get(obj)`.
    public mutating func field(_ name: String, _ get: @escaping (Receiver) throws -> Value) {
        if fields[name] == nil && methods[name] == nil { names.append(name) }
        fields[name] = get
    }

    /// Declares a method: `obj.name(args)` runs `fn(obj, args, ctx)` after the argument check.
    public mutating func add(_ name: String, _ signature: String, doc: String,
                             _ fn: @escaping (Receiver, Arguments, CallContext) throws -> Value) {
        if fields[name] == nil && methods[name] == nil { names.append(name) }
        methods[name] = (Builtin("\(typeName).\(name)", signature, doc: doc) { _, _ in .nil_ }, fn)
    }

    /// Declares `obj(args)`; `call(_:_:_:)` checks the arguments and runs `fn`.
    public mutating func call(_ signature: String, doc: String,
                              _ fn: @escaping (Receiver, Arguments, CallContext) throws -> Value) {
        callable = (Builtin(typeName, signature, doc: doc) { _, _ in .nil_ }, fn)
    }

    /// The method declarations (templates not bound to an object), in declaration order.
    public var methodDeclarations: [Builtin] { names.compactMap { methods[$0]?.template } }

    /// `obj.name`: a field's value, the bound method, or nil when there is no such member.
    public func value(_ name: String, of r: Receiver) throws -> Value? {
        if let get = fields[name] { return try get(r) }
        guard let m = methods[name] else { return nil }
        let t = m.template, fn = m.fn
        return .builtin(Builtin(t.name, declaration: t.declaration, error: t.declarationError, doc: t.doc,
                                checksArguments: t.checksArguments) { a, ctx in try fn(r, a, ctx) })
    }

    /// `obj(args)`: checks `args` against the `call` declaration, then runs it.
    public func call(_ r: Receiver, _ args: Arguments, _ ctx: CallContext) throws -> Value {
        guard let c = callable else { throw RuntimeError.type("a \(typeName) is not callable") }
        var a = args
        if a.callee.isEmpty { a.callee = typeName }
        if c.template.checksArguments {
            try c.template.declaration.check(a)
            a.declaration = c.template.declaration
        }
        return try c.fn(r, a, ctx)
    }
}
