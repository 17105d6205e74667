// Assembles the one builtin table from each domain's registration function.
// A domain file (Core+Builtins.swift, Tensor+Builtins.swift, ...) adds its builtins with
// `table.add(name, signature, doc: ...) { args, ctx in ... }`.

public enum Registry {
    /// Every builtin of the language, in registration order.
    public static func standard() -> BuiltinTable {
        var t = BuiltinTable()
        CoreBuiltins.register(into: &t)
        TensorBuiltins.register(into: &t)
        ModelBuiltins.register(into: &t)
        DataBuiltins.register(into: &t)
        AttackBuiltins.register(into: &t)
        TrainBuiltins.register(into: &t)
        return t
    }
}
