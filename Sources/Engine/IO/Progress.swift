// The one progress display of every long loop: training (`fit`), evaluation (`evaluate`,
// `sweep`, the AutoAttack ensemble) and data loading. It shows what runs, how far it is
// (done/total and percent), the speed, the ETA and the current metric; on a terminal it
// rewrites one line in place, otherwise it prints a plain line every few seconds; ADV_PROGRESS=0
// (or a caller's `progress: false`) silences it. docs/training.md, "Progress".
import Foundation

/// A progress display for one task on standard error.
///
///     let p = Progress("evaluate convnext_tiny", total: 1000, unit: "images", enabled: options.progress)
///     p.update(128, metric: "clean 81.25%  PGD-5 60.16%")
///     p.note("WARNING: ...")      // a message on its own line, the progress line kept intact
///     p.finish()                   // ends the in-place line
public final class Progress {
    /// Where the display goes (standard error; tests replace it and `isTerminal`).
    public nonisolated(unsafe) static var write: (String) -> Void = { Console.err($0) }  // never crashes (docs/reliability.md)
    /// Whether the output is a terminal (in-place updates); nil asks isatty(2).
    public nonisolated(unsafe) static var isTerminal: Bool? = nil
    /// Seconds between plain lines when the output is not a terminal.
    public nonisolated(unsafe) static var plainInterval: Double = 5
    /// Seconds between redraws on a terminal.
    static let terminalInterval = 0.2

    /// False when the environment variable ADV_PROGRESS is "0", "false", "no" or "off".
    public static var allowedByEnvironment: Bool {
        guard let v = ProcessInfo.processInfo.environment["ADV_PROGRESS"]?.lowercased() else { return true }
        return !["0", "false", "no", "off"].contains(v)
    }

    /// What runs, e.g. "fit convnext_tiny" or "evaluate deit_small".
    public let what: String
    /// The unit of `done` and `total`, e.g. "images" (speed is shown per second of it).
    public let unit: String
    /// Units in the whole task.
    public var total: Int
    /// Whether anything is shown (the caller's switch and ADV_PROGRESS).
    public let enabled: Bool
    /// Seconds before the first line appears (short tasks such as loading a small file stay quiet).
    public let delay: Double
    let terminal: Bool
    var shown = false
    var start = Date()
    var startDone = 0
    var done = 0
    var lastPrint = Date.distantPast
    var lastLength = 0

    /// - Parameters:
    ///   - what: the task's name, first on the line.
    ///   - total: units in the task (0 when unknown: no percent or ETA).
    ///   - unit: what is counted.
    ///   - enabled: the caller's switch (`progress:`); ADV_PROGRESS=0 turns it off everywhere.
    ///   - delay: seconds of silence at the start (0: the first update shows).
    public init(_ what: String, total: Int, unit: String = "images", enabled: Bool = true, delay: Double = 0) {
        self.what = what
        self.delay = delay
        self.total = total
        self.unit = unit
        self.enabled = enabled && Progress.allowedByEnvironment
        terminal = Progress.isTerminal ?? (isatty(2) != 0)
        Progress.alive.append(Weak(display: self))
    }

    deinit { Progress.alive.removeAll { $0.display == nil } }

    /// A display that has not been freed yet (the innermost task is last).
    struct Weak { weak var display: Progress? }
    /// The displays alive now, innermost last: `noteActive` speaks through the last one.
    nonisolated(unsafe) static var alive: [Weak] = []

    /// A note from code that runs inside a task without a display of its own (AutoAttack's
    /// summary after each member): through the innermost live display, so its switch decides
    /// (`progress: false`, ADV_PROGRESS=0) and an in-place line is ended first; with no display
    /// alive, a plain line unless ADV_PROGRESS=0.
    public static func noteActive(_ text: String) {
        alive.removeAll { $0.display == nil }
        if let p = alive.last?.display { p.note(text); return }
        if allowedByEnvironment { write(text + "\n") }
    }

    /// Counts speed and ETA from `done` units onwards (a resumed task: the units done before
    /// this run do not count as fast).
    public func resume(from done: Int) {
        self.done = done
        startDone = done
        start = Date()
    }

    /// Reports `done` units and the current metric; throttled (in place at most 5 times a
    /// second on a terminal, a line every `plainInterval` seconds otherwise) unless `force`
    /// (the last update of a task). Nothing shows during the first `delay` seconds, and a forced
    /// update after a silent start stays silent when the task ended within them.
    public func update(_ done: Int, metric: String = "", force: Bool = false) {
        self.done = done
        guard enabled else { return }
        let now = Date()
        if !shown && now.timeIntervalSince(start) < delay { return }
        guard force || now.timeIntervalSince(lastPrint) >= (terminal ? Progress.terminalInterval : Progress.plainInterval) else { return }
        lastPrint = now
        shown = true
        show(line(now: now, metric: metric))
    }

    /// The text of the progress line: what, how far, speed, ETA, metric.
    func line(now: Date, metric: String) -> String {
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done - startDone) / elapsed : 0
        var s = "\(what): \(done)"
        if total > 0 {
            s += "/\(total) \(unit) (\(Int((100 * Double(done) / Double(total)).rounded(.down)))%)"
        } else {
            s += " \(unit)"
        }
        s += "  " + (rate >= 10 ? String(format: "%.0f", rate) : String(format: "%.1f", rate)) + " \(unit)/s"
        if total > 0 {
            s += "  ETA " + (rate > 0 ? Progress.duration(Double(total - done) / rate) : "?")
        }
        if !metric.isEmpty { s += "  " + metric }
        return s
    }

    func show(_ text: String) {
        if terminal {
            let pad = max(0, lastLength - text.count)
            Progress.write("\r" + text + String(repeating: " ", count: pad))
            lastLength = text.count
        } else {
            Progress.write(text + "\n")
        }
    }

    /// Prints `text` on a line of its own (ending an in-place line first); shown even between
    /// throttled updates. Silent when disabled.
    public func note(_ text: String) {
        guard enabled else { return }
        if terminal && lastLength > 0 { Progress.write("\n"); lastLength = 0 }
        Progress.write(text + "\n")
        lastPrint = .distantPast
    }

    /// Ends the in-place line on a terminal.
    public func finish() {
        if enabled && terminal && lastLength > 0 { Progress.write("\n") }
        lastLength = 0
    }

    /// "1h02m", "3m05s", "12s"; "?" for an unknown duration.
    public static func duration(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "?" }
        let t = Int(s.rounded())
        if t >= 3600 { return String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) }
        if t >= 60 { return String(format: "%dm%02ds", t / 60, t % 60) }
        return "\(t)s"
    }
}
