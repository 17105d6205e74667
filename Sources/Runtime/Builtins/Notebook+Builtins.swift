// Builtins the notebook layer adds to others: seed(n) also records the seed for reports
// (docs/notebooks.md). Registered last; the wrapped builtin keeps its signature and doc.
import Foundation

enum NotebookBuiltins {
    static func register(into t: inout BuiltinTable) {
        if let prior = t.byName["seed"] {
            t.add(Builtin(prior.name, prior.signature, doc: prior.doc, checksArguments: false) { a, ctx in
                let r = try prior.call(a, ctx)
                if case .number(let d)? = a.value("n", at: 0) { SessionSeed.last = Int(d) }
                return r
            })
        }
    }
}
