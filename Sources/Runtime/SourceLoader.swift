// Reading script files: must exist, be text and be valid UTF-8.
import Foundation
import Lang

public enum SourceLoader {
    /// Reads a script.
    /// - Throws: `RuntimeError.message` naming the file when it is missing, binary or not UTF-8.
    public static func load(path: String) throws -> SourceFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
                throw RuntimeError.message("\(path): is a directory, not a script")
            }
            throw RuntimeError.message("\(path): no such file")
        }
        return try decode(Array(data), name: path)
    }

    /// Decodes bytes as a script, rejecting binary data and invalid UTF-8 with the position.
    public static func decode(_ bytes: [UInt8], name: String) throws -> SourceFile {
        var line = 1, col = 1
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c == 0 {
                throw RuntimeError.message("\(name):\(line):\(col): error: this is a binary file, not a script (NUL byte)")
            }
            let n: Int
            if c < 0x80 { n = 1 }
            else if c & 0xE0 == 0xC0, c >= 0xC2 { n = 2 }
            else if c & 0xF0 == 0xE0 { n = 3 }
            else if c & 0xF8 == 0xF0, c <= 0xF4 { n = 4 }
            else { n = 0 }
            var ok = n > 0 && i + n <= bytes.count
            if ok { for k in 1..<max(1, n) where bytes[i + k] & 0xC0 != 0x80 { ok = false } }
            if ok && n > 1, String(validating: bytes[i..<i + n], as: UTF8.self) == nil { ok = false }
            guard ok else {
                throw RuntimeError.message("\(name):\(line):\(col): error: the file is not valid UTF-8 (byte 0x\(String(c, radix: 16, uppercase: true)))")
            }
            if c == 10 { line += 1; col = 1 } else { col += 1 }
            i += n
        }
        return SourceFile(name: name, text: String(decoding: bytes, as: UTF8.self))
    }
}
