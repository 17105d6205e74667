// The one error type of the tensor library and the engine: what went wrong and why, as text.

/// Errors the engine reports. Each carries a message that says what and why;
/// the runtime adds the source location.
public enum EngineError: Error, CustomStringConvertible, Equatable {
    /// Shapes that do not fit together (the message names both).
    case shape(String)
    /// An argument outside its domain (the message names the argument).
    case invalidArgument(String)
    /// A file that is missing, truncated, corrupt or malicious (the message names the file).
    case io(String)
    /// Numbers that went wrong (NaN/inf where they must not be).
    case numeric(String)
    /// The user interrupted a long computation (Ctrl-C).
    case interrupted

    public var description: String {
        switch self {
        case .shape(let m), .invalidArgument(let m), .io(let m), .numeric(let m): return m
        case .interrupted: return "interrupted"
        }
    }
}
