// A runtime error placed in the source: the failing expression's span plus the chain of
// user-function calls that led there.
import Lang

/// One active call of a user function: its name and where it was called from.
public struct Frame {
    public let name: String
    public let callSite: Span
}

/// A runtime error with its location and traceback.
public struct ScriptError: Error, CustomStringConvertible {
    public let error: RuntimeError
    public let span: Span
    /// Active calls, outermost first.
    public let trace: [Frame]

    public init(_ error: RuntimeError, span: Span, trace: [Frame]) {
        self.error = error
        self.span = span
        self.trace = trace
    }

    public var description: String { render() }

    /// The diagnostic (message, source line, underline) followed by one note per call,
    /// innermost first; long tracebacks keep their ends.
    public func render() -> String {
        var out = Diagnostic(error.description, at: span).render()
        let frames = Array(trace.reversed())
        func note(_ f: Frame) -> String { "\(f.callSite.position): note: in '\(f.name)', called from here" }
        if frames.count <= 12 {
            for f in frames { out += "\n" + note(f) }
        } else {
            for f in frames.prefix(6) { out += "\n" + note(f) }
            out += "\n... \(frames.count - 12) more calls ..."
            for f in frames.suffix(6) { out += "\n" + note(f) }
        }
        return out
    }
}
