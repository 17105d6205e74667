// Atomic file writes: the data goes to a temporary file in the same folder, is flushed, and is
// renamed over the target, so a crash or Ctrl-C never leaves a half-written file behind.
import Foundation
import Tensor

public enum AtomicFile {
    /// Writes `data` to `path` atomically (temp file + fsync + rename).
    /// - Parameters:
    ///   - data: the complete new contents.
    ///   - path: the destination; its folder must exist.
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.isEmpty ? "." : dir, isDirectory: &isDir), isDir.boolValue else {
            throw EngineError.io("cannot write \(path): folder \(dir) does not exist")
        }
        let tmp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
        guard let fd = Optional(open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)), fd >= 0 else {
            throw EngineError.io("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        var ok = true
        data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var off = 0
            while off < raw.count {
                let n = Foundation.write(fd, base.advanced(by: off), raw.count - off)
                if n <= 0 { ok = false; break }
                off += n
            }
        }
        if fsync(fd) != 0 { ok = false }
        close(fd)
        guard ok else {
            unlink(tmp)
            throw EngineError.io("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        guard rename(tmp, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(tmp)
            throw EngineError.io("cannot write \(path): \(why)")
        }
    }

    /// Writes a UTF-8 string atomically.
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }
}
