// What a training run reports: a progress line on stderr (epoch, step, loss, clean and
// adversarial training accuracy, lr, images/s, ETA) and a JSON-lines file with one object per
// step plus events (start, resume, skipped steps, validation, checkpoints, end).
import Foundation
import Tensor

/// One value of a JSON-lines record.
public enum LogValue {
    case int(Int), double(Double), string(String), bool(Bool), null

    var json: String {
        switch self {
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? "\(d)" : "null"
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .string(let s):
            var out = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                default:
                    if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
                }
            }
            return out + "\""
        }
    }
}

/// Appends one JSON object per line to a file, written with one `write` per line (a killed run
/// keeps its log). A failed write (a full disk) is cut back to the last whole line, so the log
/// stays well-formed, and is kept as `failure` for the trainer to stop on (`checkWritten`).
public final class JSONLinesLog {
    let fd: Int32
    public let path: String
    /// Length of the file after the last line written completely.
    var goodLength: off_t
    /// The first failed write, if any; later lines are not attempted.
    public private(set) var failure: EngineError?

    /// Opens `path` for appending (creating it).
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw EngineError.io("cannot open the log \(path) for writing: \(FileContents.reason(errno, path: path))")
        }
        var st = stat()
        fstat(fd, &st)
        self.fd = fd
        // Cutting back a partial line applies to regular files; a device or pipe keeps what it got.
        goodLength = (st.st_mode & S_IFMT) == S_IFREG ? st.st_size : -1
    }

    deinit { close(fd) }

    /// Writes `fields` as one JSON object line.
    public func write(_ fields: [(String, LogValue)]) {
        guard failure == nil else { return }
        let line = "{" + fields.map { "\(LogValue.string($0.0).json): \($0.1.json)" }.joined(separator: ", ") + "}\n"
        let bytes = Array(line.utf8)
        if let e = Console.writeAll(fd, bytes) {
            if goodLength >= 0 { _ = ftruncate(fd, goodLength) }  // drop a partial line
            failure = EngineError.io("cannot write the log \(path): \(String(cString: strerror(e)))")
        } else if goodLength >= 0 {
            goodLength += off_t(bytes.count)
        }
    }

    /// Throws the first failed write, if any.
    public func checkWritten() throws {
        if let f = failure { throw f }
    }
}

/// Human-readable progress on stderr: rewritten in place on a terminal, a line every few seconds otherwise.
public final class ProgressLine {
    let isTTY = isatty(2) != 0
    var lastPrint = Date.distantPast
    var lastLength = 0
    public var enabled: Bool

    public init(enabled: Bool) { self.enabled = enabled }

    /// Shows `text`, throttled unless `force`.
    public func show(_ text: String, force: Bool = false) {
        guard enabled else { return }
        let now = Date()
        let interval = isTTY ? 0.25 : 10
        guard force || now.timeIntervalSince(lastPrint) >= interval else { return }
        lastPrint = now
        if isTTY {
            let pad = max(0, lastLength - text.count)
            Console.err("\r" + text + String(repeating: " ", count: pad))
            lastLength = text.count
        } else {
            Console.err(text + "\n")
        }
    }

    /// Ends the in-place line (on a terminal) and prints `text` on its own line.
    public func note(_ text: String) {
        guard enabled else { return }
        if isTTY && lastLength > 0 { Console.err("\n"); lastLength = 0 }
        Console.err(text + "\n")
        lastPrint = .distantPast
    }

    /// Finishes the in-place line.
    public func finish() {
        if enabled && isTTY && lastLength > 0 { Console.err("\n") }
        lastLength = 0
    }
}

/// "1h02m", "3m05s", "12s".
func formatDuration(_ s: Double) -> String {
    guard s.isFinite, s >= 0 else { return "?" }
    let t = Int(s.rounded())
    if t >= 3600 { return String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) }
    if t >= 60 { return String(format: "%dm%02ds", t / 60, t % 60) }
    return "\(t)s"
}
