// Builtins: data sets and transforms.

enum DataBuiltins {
    static func register(into t: inout BuiltinTable) {
    }
}
