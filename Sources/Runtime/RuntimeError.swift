// Errors raised while a script runs. The interpreter attaches the source span of the
// failing expression and a traceback through user functions before reporting.
import Engine
import Tensor

public enum RuntimeError: Error, CustomStringConvertible {
    /// Wrong argument count, unknown argument name, value out of range.
    case arguments(String)
    /// A value of the wrong type.
    case type(String)
    /// An unknown variable, field or method (message includes a suggestion when one is close).
    case name(String)
    /// Index out of range, division by zero and other value errors.
    case value(String)
    /// An error from the engine (shapes, files, numerics).
    case engine(EngineError)
    /// Ctrl-C.
    case interrupted
    /// Anything else, with its message.
    case message(String)

    public var description: String {
        switch self {
        case .arguments(let m), .type(let m), .name(let m), .value(let m), .message(let m): return m
        case .engine(let e): return e.description
        case .interrupted: return "interrupted"
        }
    }
}
