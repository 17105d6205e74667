// Assembles the one builtin table from each domain's registration function.
// A domain file (Core+Builtins.swift, Tensor+Builtins.swift, ...) adds its builtins with
// `table.add(name, signature, doc: ...) { args, ctx in ... }`.

public enum Registry {
    /// The language's core builtins only (no tensors, models or data): for sandboxes and fuzzing.
    public static func core() -> BuiltinTable {
        var t = BuiltinTable()
        CoreBuiltins.register(into: &t)
        return t
    }

    /// Every builtin of the language, in registration order.
    public static func standard() -> BuiltinTable {
        var core = BuiltinTable()
        CoreBuiltins.register(into: &core)
        var t = core
        TensorBuiltins.register(into: &t)
        ModelBuiltins.register(into: &t)
        DataBuiltins.register(into: &t)
        AttackBuiltins.register(into: &t)
        TrainBuiltins.register(into: &t)
        // A domain that reuses a core name (abs, sqrt, sum, min, ...) keeps it for objects;
        // plain numbers, strings and lists still get the core behaviour (numbers stay numbers).
        for (name, c) in core.byName {
            guard let d = t.byName[name], d !== c else { continue }
            t.add(Builtin(name, d.signature, doc: d.doc + " Given plain numbers or a list instead (numbers stay numbers): " + c.doc) { args, ctx in
                let hasObject = args.positional.contains { if case .object = $0 { return true }; return false }
                    || args.named.contains { if case .object = $0.value { return true }; return false }
                return try (hasObject ? d.fn : c.fn)(args, ctx)
            })
        }
        return t
    }
}
