// Assembles the one builtin table from each domain's registration function.
//
// Every builtin is declared once, in a domain file (Core+Builtins.swift, Tensor+Builtins.swift,
// ...), as a name, a signature, a doc and a body:
//
//   t.add("pgd", "pgd(eps, step = eps/4, steps = 10, restarts: 1, target: nil)", doc: """
//       Projected gradient descent ...
//       """) { a, _ in
//       let eps = try a.number("eps", at: 0)
//       ...
//   }
//
// The signature is parsed once into parameters (Signature.swift: `x` required, `x = d` optional,
// both by position or name; `x:` / `x: d` by name only; `xs...` the rest). Before the body runs,
// the arguments are checked against it (unknown name with a did-you-mean, too many positional
// values, a value given twice, a missing required argument), so bodies only read and convert.
// help, REPL completion (names and keyword arguments) and docs/builtins.md come from the same
// declarations. Object methods use the same mechanism through `Members` (Members.swift).
// Engine calls go through `engine { }` (Builtin.swift), which keeps Ctrl-C an interruption.
// docs/architecture.md "Adding a builtin" has the whole recipe.

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
        AutoAttackBuiltins.register(into: &t)
        TrainBuiltins.register(into: &t)
        FilesBuiltins.register(into: &t)
        FigureBuiltins.register(into: &t)
        NotebookBuiltins.register(into: &t)
        // A domain that reuses a core name (abs, sqrt, sum, min, ...) keeps it for objects;
        // plain numbers, strings and lists still get the core behaviour (numbers stay numbers).
        for (name, c) in core.byName {
            guard let d = t.byName[name], d !== c else { continue }
            t.add(Builtin(name, d.signature, doc: d.doc + "\n\nGiven plain numbers or a list instead (numbers stay numbers): " + c.doc,
                          checksArguments: false) { args, ctx in
                let hasObject = args.positional.contains { if case .object = $0 { return true }; return false }
                    || args.named.contains { if case .object = $0.value { return true }; return false }
                return try (hasObject ? d : c).call(args, ctx)
            })
        }
        return t
    }
}
