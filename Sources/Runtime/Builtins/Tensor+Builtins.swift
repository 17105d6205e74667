// Builtins: tensors and autograd.

enum TensorBuiltins {
    static func register(into t: inout BuiltinTable) {
    }
}
