// Builtins: language core (print, len, range, help, ...).

enum CoreBuiltins {
    static func register(into t: inout BuiltinTable) {
    }
}
