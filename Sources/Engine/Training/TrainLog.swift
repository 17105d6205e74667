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
        handle.write(JSONLinesLog.line(fields))
    }
}

