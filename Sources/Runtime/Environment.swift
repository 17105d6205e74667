// Scopes. A function call gets one scope (blocks do not open new ones, as in Python);
// reads search the enclosing scopes outward, assignments write to the innermost.

/// A scope of variables with a link to the enclosing one.
public final class Environment {
    public var values: [String: Value]
    public let parent: Environment?

    public init(parent: Environment? = nil, values: [String: Value] = [:]) {
        self.parent = parent
        self.values = values
    }

    /// The value of `name` here or in an enclosing scope.
    @inline(__always)
    public func lookup(_ name: String) -> Value? {
        var e: Environment? = self
        while let env = e {
            if let v = env.values[name] { return v }
            e = env.parent
        }
        return nil
    }

    /// Every visible name (for suggestions and completion).
    public var allNames: [String] {
        var out = Set<String>()
        var e: Environment? = self
        while let env = e {
            out.formUnion(env.values.keys)
            e = env.parent
        }
        return Array(out)
    }
}
