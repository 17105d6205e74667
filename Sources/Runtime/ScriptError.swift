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
        // Innermost first; runs of the same call site (recursion) fold into one line.
        var folded: [(Frame, Int)] = []
        for f in trace.reversed() {
            if let last = folded.last, last.0.name == f.name, last.0.callSite.start == f.callSite.start,
               last.0.callSite.source === f.callSite.source {
                folded[folded.count - 1].1 += 1
            } else {
                folded.append((f, 1))
            }
        }
        func note(_ f: (Frame, Int)) -> String {
            "\(f.0.callSite.position): note: in '\(f.0.name)', called from here" + (f.1 > 1 ? " (\(f.1) times)" : "")
        }
        if folded.count <= 12 {
            for f in folded { out += "\n" + note(f) }
        } else {
            for f in folded.prefix(6) { out += "\n" + note(f) }
            out += "\n... \(folded.count - 12) more calls ..."
            for f in folded.suffix(6) { out += "\n" + note(f) }
        }
        return out
    }
}
