// Modules loaded by `use`: a file evaluated once per session in its own global scope.

/// A loaded module; `m.name` reads the module's top-level variable `name`.
public final class Module {
    /// The name it was loaded by (`recipes`).
    public let name: String
    /// The file it came from.
    public let path: String
    /// Its top-level scope.
    public let env: Environment

    public init(name: String, path: String, env: Environment) {
        self.name = name
        self.path = path
        self.env = env
    }

    /// Public names (those not starting with `_`), sorted.
    public var exports: [String] { env.values.keys.filter { !$0.hasPrefix("_") }.sorted() }
}
