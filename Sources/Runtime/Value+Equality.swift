// Equality of values: structural for lists and records, identity for functions and objects.

extension Value {
    /// Structural equality (lists and records compare their contents, to a depth limit).
    /// - Throws: when the values are nested too deeply to compare.
    public func equals(_ other: Value, depth: Int = 0) throws -> Bool {
        if depth > 200 { throw RuntimeError.value("values nested too deeply to compare") }
        switch (self, other) {
        case (.nil_, .nil_): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.list(let a), .list(let b)):
            if a === b { return true }
            guard a.items.count == b.items.count else { return false }
            for (x, y) in zip(a.items, b.items) where !(try x.equals(y, depth: depth + 1)) { return false }
            return true
        case (.record(let a), .record(let b)):
            if a === b { return true }
            guard a.keys.count == b.keys.count else { return false }
            for k in a.keys {
                guard let x = a.fields[k], let y = b.fields[k], try x.equals(y, depth: depth + 1) else { return false }
            }
            return true
        case (.function(let a), .function(let b)): return a === b
        case (.builtin(let a), .builtin(let b)): return a === b
        case (.module(let a), .module(let b)): return a === b
        case (.object(let a), .object(let b)): return a === b
        default: return false
        }
    }
}
