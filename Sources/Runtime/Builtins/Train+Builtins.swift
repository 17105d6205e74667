// Builtins: optimizers, recipes, fit.

enum TrainBuiltins {
    static func register(into t: inout BuiltinTable) {
    }
}
