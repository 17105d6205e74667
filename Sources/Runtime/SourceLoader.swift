// Reading script files: any readable path that is not a directory (regular files, /dev/stdin,
// FIFOs, process substitution), decoded as UTF-8 text. A UTF-8 byte-order mark at the start is
// skipped; a NUL byte or invalid UTF-8 is an error shown with its line and a caret.
import Engine
import Foundation
import Tensor
import Lang

public enum SourceLoader {
    /// The largest script accepted.
    public static let maxBytes = 256 << 20

    /// Reads a script.
    /// - Throws: `RuntimeError.message` naming the file and the reason (missing, a directory,
    ///   unreadable); a `Diagnostic` when it is binary or not UTF-8.
    public static func load(path: String) throws -> SourceFile {
        let bytes: [UInt8]
        do {
            bytes = try FileContents.read(path, limit: maxBytes)
        } catch let e as EngineError {
            throw RuntimeError.message(e.description)
        }
        return try decode(bytes, name: path)
    }

    /// Reads everything from a file descriptor (standard input).
    public static func readAll(fd: Int32, name: String) throws -> [UInt8] {
        do {
            return try FileContents.read(fd: fd, name: name, limit: maxBytes)
        } catch let e as EngineError {
            throw RuntimeError.message(e.description)
        }
    }

    /// Decodes bytes as a script, rejecting binary data and invalid UTF-8 with the position.
    public static func decode(_ bytes: [UInt8], name: String) throws -> SourceFile {
        var bytes = bytes
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }  // UTF-8 byte-order mark
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == 0 {
                throw problem(bytes, name: name, at: i, "this is a binary file, not a script (NUL byte)")
            }
            if c < 0x80 { i += 1; continue }
            let n: Int
            if c & 0xE0 == 0xC0, c >= 0xC2 { n = 2 }
            else if c & 0xF0 == 0xE0 { n = 3 }
            else if c & 0xF8 == 0xF0, c <= 0xF4 { n = 4 }
            else { n = 0 }
            var ok = n > 0 && i + n <= bytes.count
            if ok { for k in 1..<n where bytes[i + k] & 0xC0 != 0x80 { ok = false } }
            if ok, String(validating: bytes[i..<i + n], as: UTF8.self) == nil { ok = false }
            guard ok else {
                throw problem(bytes, name: name, at: i, "the file is not valid UTF-8 (byte 0x\(String(c, radix: 16, uppercase: true)))")
            }
            i += n
        }
        return SourceFile(name: name, text: String(decoding: bytes, as: UTF8.self))
    }

    /// A diagnostic at byte `offset` of an undecodable file, shown on its line (bad bytes appear
    /// as U+FFFD, a NUL as a control picture) with a caret.
    static func problem(_ bytes: [UInt8], name: String, at offset: Int, _ message: String) -> Diagnostic {
        // Everything before `offset` is valid UTF-8, so offsets before it are the same in the text.
        let src = SourceFile(name: name, text: String(decoding: bytes, as: UTF8.self))
        return Diagnostic(message, at: Span(src, offset, offset + 1))
    }
}
