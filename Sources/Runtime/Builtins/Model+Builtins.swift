// Builtins: the five architectures, params, save/load_weights.

enum ModelBuiltins {
    static func register(into t: inout BuiltinTable) {
    }
}
