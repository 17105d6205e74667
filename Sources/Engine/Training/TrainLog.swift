// What a training run reports: a progress line on stderr (epoch, step, loss, clean and
// adversarial training accuracy, lr, images/s, ETA) and a JSON-lines file with one object per
// step plus events (start, resume, skipped steps, validation, checkpoints, end).
import Foundation
import Tensor

/// One value of a JSON-lines record.
public enum LogValue {
    case int(Int), double(Double), string(String), bool(Bool), null

    public var json: String {
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

/// Appends one JSON object per line to a file, flushing each line (a killed run keeps its log).
public final class JSONLinesLog {
    let handle: FileHandle
    public let path: String

    /// Opens `path` for appending (creating it).
    public init(path: String) throws {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw EngineError.io("cannot create log \(path) (does its folder exist?)")
            }
        }
        guard let h = FileHandle(forWritingAtPath: path) else { throw EngineError.io("cannot open log \(path) for writing") }
        h.seekToEndOfFile()
        handle = h
    }

    deinit { try? handle.close() }

    /// Writes `fields` as one JSON object line.
    public func write(_ fields: [(String, LogValue)]) {
        let line = "{" + fields.map { "\(LogValue.string($0.0).json): \($0.1.json)" }.joined(separator: ", ") + "}\n"
        handle.write(Data(line.utf8))
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
            FileHandle.standardError.write(Data(("\r" + text + String(repeating: " ", count: pad)).utf8))
            lastLength = text.count
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    /// Ends the in-place line (on a terminal) and prints `text` on its own line.
    public func note(_ text: String) {
        guard enabled else { return }
        if isTTY && lastLength > 0 { FileHandle.standardError.write(Data("\n".utf8)); lastLength = 0 }
        FileHandle.standardError.write(Data((text + "\n").utf8))
        lastPrint = .distantPast
    }

    /// Finishes the in-place line.
    public func finish() {
        if enabled && isTTY && lastLength > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
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
