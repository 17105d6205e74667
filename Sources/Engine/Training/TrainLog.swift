// What a training run writes besides its result: a JSON-lines file with one object per step
// plus events (start, resume, skipped steps, validation, checkpoints, end), in the units and
// numbering of the records `fit` returns (accuracies in percent, epochs and steps from 1), written
// by Foundation's JSONSerialization. The progress line is the shared `Progress` display.
import Foundation
import Tensor

/// One value of a JSON-lines record.
public enum LogValue {
    case int(Int), double(Double), string(String), bool(Bool), null

    /// The value as JSONSerialization takes it (a non-finite double becomes null).
    var object: Any {
        switch self {
        case .int(let i): return i
        case .double(let d): return d.isFinite ? d : NSNull()
        case .bool(let b): return b
        case .null: return NSNull()
        case .string(let s): return s
        }
    }
}

/// Appends one JSON object per line to a file, written with one `write` per line (a killed run
/// keeps its log). A failed write (a full disk) is cut back to the last whole line, so the log
/// stays well-formed, and is kept as `failure` for the trainer to stop on (`checkWritten`).
public final class JSONLinesLog {
    let fd: Int32
    public let path: String
    /// Length of the file after the last line written completely (-1: not a regular file).
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

    /// One JSON object (keys sorted) for `fields`; a later field of the same name wins.
    public static func line(_ fields: [(String, LogValue)]) -> Data {
        var object: [String: Any] = [:]
        for (k, v) in fields { object[k] = v.object }
        // Strings, numbers, bools and null only: serialization cannot fail.
        var data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        data.append(0x0A)
        return data
    }

    /// Writes `fields` as one JSON object line.
    public func write(_ fields: [(String, LogValue)]) {
        guard failure == nil else { return }
        let bytes = [UInt8](JSONLinesLog.line(fields))
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

