// Progress lines in a notebook (docs/notebooks.md, "Progress in a notebook"). Engine's `Progress`
// (told it writes to a terminal) draws an in-place line as "\r" + text + padding, ends it with
// "\n", and writes notes and plain lines ending in "\n". A notebook is not a terminal: the kernel
// shows each in-place line as one display_data output with a display id (in `transient`, as the
// protocol puts it) and redraws it with update_display_data for that id, which JupyterLab, VS Code
// and nbclient (nbconvert, papermill) apply to that one output. So the line updates in place while
// the cell runs, and a saved notebook keeps the last state of each line, not every redraw. Other
// text goes out as a stderr stream.
import Foundation

/// Turns what `Progress.write` receives into display and stream messages.
struct ProgressRelay {
    /// One message to send.
    enum Action: Equatable {
        /// A new in-place line: display_data with this display id.
        case show(id: String, text: String)
        /// A redraw of the line `id`: update_display_data.
        case update(id: String, text: String)
        /// Text on its own lines: a stderr stream.
        case stream(String)
    }

    /// The display id of the line being redrawn, nil when no in-place line is open.
    private(set) var current: String?
    /// Makes a fresh display id (tests replace it).
    var makeID: () -> String = { "adv-progress-" + UUID().uuidString.lowercased() }

    /// The messages for one write of the progress display.
    mutating func write(_ s: String) -> [Action] {
        if s.hasPrefix("\r") {
            var text = String(s.dropFirst())
            while text.hasSuffix(" ") { text.removeLast() }   // the padding that blanks a longer line on a terminal
            if let id = current { return [.update(id: id, text: text)] }
            let id = makeID()
            current = id
            return [.show(id: id, text: text)]
        }
        var rest = Substring(s)
        if current != nil {
            current = nil
            if rest.hasPrefix("\n") { rest = rest.dropFirst() }   // the newline that ends the in-place line
        }
        return rest.isEmpty ? [] : [.stream(String(rest))]
    }

    /// Forgets the open line (a new cell starts new lines).
    mutating func reset() { current = nil }
}
