// Builtins: attacks, evaluate, sweep, table.

enum AttackBuiltins {
    static func register(into t: inout BuiltinTable) {
    }
}
