// Values of the adv language.
import Engine
import Tensor

/// A value a script can hold. Reference types (lists, records, host objects) are shared,
/// as in Python/Lua; numbers, strings and booleans are immutable values.
public enum Value {
    case nil_
    case bool(Bool)
    case number(Double)
    case string(String)
    case list(ListBox)
    case record(RecordBox)
    case function(Closure)
    case builtin(Builtin)
    case module(Module)
    /// Tensors, models, datasets, attacks, recipes, results: engine objects wrapped for scripts.
    case object(HostObject)

    /// The name of the value's type, as shown in error messages ("number", "Tensor", ...).
    public var typeName: String {
        switch self {
        case .nil_: return "nil"
        case .bool: return "bool"
        case .number: return "number"
        case .string: return "string"
        case .list: return "list"
        case .record: return "record"
        case .function: return "function"
        case .builtin: return "builtin"
        case .module: return "module"
        case .object(let o): return o.typeName
        }
    }
}

/// A mutable, shared list.
public final class ListBox {
    public var items: [Value]
    public init(_ items: [Value]) { self.items = items }
    deinit { releaseNested(&items) }
}

/// Releases the lists and records inside `values` without recursion: a list nested 100,000
/// deep (`for i in range(100000) { xs = [xs] }`) would otherwise free itself through 100,000
/// nested deinit calls and overflow the native stack. Children that nothing else references
/// are emptied into a work list first, so every deinit only sees shallow containers.
func releaseNested(_ values: inout [Value]) {
    guard values.contains(where: { if case .list = $0 { return true }; if case .record = $0 { return true }; return false }) else { return }
    var pending = values
    values = []
    while var v = pending.popLast() {
        var list: ListBox?
        var record: RecordBox?
        switch v {
        case .list(let l): list = l
        case .record(let r): record = r
        default: continue
        }
        v = .nil_
        if isKnownUniquelyReferenced(&list), let l = list {
            pending.append(contentsOf: l.items)
            l.items = []
        }
        if isKnownUniquelyReferenced(&record), let r = record {
            pending.append(contentsOf: r.takeAll())
        }
    }
}

/// A mutable, shared record with fields kept in insertion order.
public final class RecordBox {
    public private(set) var keys: [String] = []
    public private(set) var fields: [String: Value] = [:]
    public init(_ pairs: [(String, Value)] = []) {
        for (k, v) in pairs { self[k] = v }
    }
    deinit {
        var values = takeAll()
        releaseNested(&values)
    }
    /// Empties the record, returning its values (for non-recursive release).
    func takeAll() -> [Value] {
        let values = Array(fields.values)
        fields = [:]
        keys = []
        return values
    }
    public subscript(key: String) -> Value? {
        get { fields[key] }
        set {
            if let v = newValue {
                if fields[key] == nil { keys.append(key) }
                fields[key] = v
            } else if fields.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }
}

/// An engine object exposed to scripts (Tensor, Model, Dataset, Attack, ...).
/// Conformers live next to the builtins that create them (e.g. Builtins/Tensor+Builtins.swift).
public protocol HostObject: AnyObject {
    /// Type name shown to users, e.g. "Tensor".
    var typeName: String { get }
    /// Readable one-line or short multi-line form for printing (respect `depth` for nesting).
    func describe(depth: Int) -> String
    /// `obj.name`: a field or a bound method (return `.builtin` for methods). nil if unknown.
    func member(_ name: String) throws -> Value?
    /// Names offered by tab completion and in "did you mean" suggestions.
    var memberNames: [String] { get }
    /// `obj(args)` for callable objects (models, attacks). Default: not callable.
    func call(_ args: Arguments, _ ctx: CallContext) throws -> Value
    /// `self op other` (or `other op self` when `selfOnLeft` is false). nil: not supported.
    func binary(_ op: BinaryOp, _ other: Value, selfOnLeft: Bool) throws -> Value?
    /// `-self`. nil: not supported.
    func negate() throws -> Value?
    /// `self[i]`. nil: not supported.
    func index(_ i: Value) throws -> Value?
    /// `self[start:end]` (either bound may be missing). nil: not supported.
    func slice(_ start: Int?, _ end: Int?) throws -> Value?
    /// `len(self)`. nil: not supported.
    var length: Int? { get }
}

/// Binary operators that host objects may implement (tensor arithmetic, `@`, comparisons).
public enum BinaryOp: String {
    case add = "+", sub = "-", mul = "*", div = "/", mod = "%", pow = "**", matmul = "@"
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
}

extension HostObject {
    public var memberNames: [String] { [] }
    public func call(_ args: Arguments, _ ctx: CallContext) throws -> Value {
        throw RuntimeError.type("a \(typeName) is not callable")
    }
    public func binary(_ op: BinaryOp, _ other: Value, selfOnLeft: Bool) throws -> Value? { nil }
    public func negate() throws -> Value? { nil }
    public func index(_ i: Value) throws -> Value? { nil }
    public func slice(_ start: Int?, _ end: Int?) throws -> Value? { nil }
    public var length: Int? { nil }
}
