// Atomic file writes: the data goes to a temporary file in the same folder, is flushed, and is
// renamed over the target, so a crash or Ctrl-C never leaves a half-written file behind.
// The rules for what may be replaced (docs/reliability.md, "Writing files"):
//  - only a regular file (or nothing) is replaced: a directory, device node, FIFO or socket at the
//    path is refused with an error that says what is there;
//  - a symbolic link is followed: the file it points to is replaced (in the target's folder) and
//    the link itself stays; a dangling link creates its target; a loop of links is an error;
//  - temporaries `.NAME.tmp-PID` that a killed writer left next to the target (their process is
//    gone) are removed by the next write of the same target.
import Foundation
import Tensor

public enum AtomicFile {
    /// Writes `data` to `path` atomically (temp file + fsync + rename).
    /// - Parameters:
    ///   - data: the complete new contents.
    ///   - path: the destination; its folder must exist.
    public static func write(_ data: Data, to path: String) throws {
        let target = try resolveTarget(path)
        let url = URL(fileURLWithPath: target)
        let dir = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.isEmpty ? "." : dir, isDirectory: &isDir), isDir.boolValue else {
            throw EngineError.io("cannot write \(path): folder \(dir) does not exist")
        }
        removeStaleTemporaries(of: url)
        let tmp = url.deletingLastPathComponent()
            .appendingPathComponent(temporaryPrefix(url.lastPathComponent) + "\(getpid())").path
        unlink(tmp)  // our own leftover from an earlier failure
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw EngineError.io("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        var failure: Int32 = 0
        data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var off = 0
            while off < raw.count {
                let n = Foundation.write(fd, base.advanced(by: off), raw.count - off)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { failure = n < 0 ? errno : EIO; break }
                off += n
            }
        }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        if close(fd) != 0 && failure == 0 { failure = errno }
        guard failure == 0 else {
            unlink(tmp)
            throw EngineError.io("cannot write \(path): \(String(cString: strerror(failure)))"
                                 + (failure == ENOSPC ? " (the previous file, if any, is unchanged)" : ""))
        }
        guard rename(tmp, target) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(tmp)
            throw EngineError.io("cannot write \(path): \(why)")
        }
    }

    /// Writes a UTF-8 string atomically.
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    /// "." + name + ".tmp-": the prefix of this target's temporaries.
    static func temporaryPrefix(_ name: String) -> String { ".\(name).tmp-" }

    /// The file a write to `path` replaces: `path` itself, or the end of its chain of symbolic
    /// links. Throws when something other than a regular file is there, or the links loop.
    public static func resolveTarget(_ path: String) throws -> String {
        var current = path
        var seen: [String] = []
        while true {
            var st = stat()
            guard lstat(current, &st) == 0 else { return current }  // nothing there yet: create it
            let kind = st.st_mode & S_IFMT
            if kind == S_IFREG { return current }
            guard kind == S_IFLNK else {
                throw EngineError.io("refusing to overwrite \(path): it is \(describe(kind)), not a regular file")
            }
            if seen.contains(current) || seen.count >= 40 {
                throw EngineError.io("cannot write \(path): symbolic links loop (\((seen + [current]).joined(separator: " -> ")))")
            }
            seen.append(current)
            var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(current, &buf, buf.count - 1)
            guard n >= 0 else { throw EngineError.io("cannot write \(path): \(String(cString: strerror(errno)))") }
            let dest = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = dest.hasPrefix("/") ? dest
                : URL(fileURLWithPath: current).deletingLastPathComponent().appendingPathComponent(dest).path
        }
    }

    /// "a directory", "a FIFO", ... for error messages.
    static func describe(_ kind: mode_t) -> String {
        switch kind {
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }

    /// Removes `.NAME.tmp-PID` files next to `url` whose writing process no longer exists.
    static func removeStaleTemporaries(of url: URL) {
        let dir = url.deletingLastPathComponent().path
        let prefix = temporaryPrefix(url.lastPathComponent)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) == -1 && errno == ESRCH {
                unlink(url.deletingLastPathComponent().appendingPathComponent(name).path)
            }
        }
    }
}
