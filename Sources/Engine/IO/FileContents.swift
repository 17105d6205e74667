// Reading whole files from any readable path that is not a directory: regular files, /dev/null,
// /dev/stdin, FIFOs and process substitution (`adv <(echo 'print(1)')`), with errors that name
// the path and the reason in plain words (docs/reliability.md, "Reading files").
import Foundation
import Tensor

public enum FileContents {
    /// The bytes of `path`.
    /// - Parameters:
    ///   - path: any readable path (a pipe is read to its end).
    ///   - limit: the largest size accepted; a bigger file is an error (nothing larger is kept).
    /// - Throws: `EngineError.io` "cannot read PATH: REASON".
    public static func read(_ path: String, limit: Int = 1 << 31) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError.io("cannot read \(path): \(reason(errno, path: path))") }
        defer { close(fd) }
        return try read(fd: fd, name: path, limit: limit)
    }

    /// The bytes readable from the open descriptor `fd` (standard input: a pipe, a socket, a file).
    /// - Parameters:
    ///   - name: what errors call it.
    ///   - limit: the largest size accepted.
    public static func read(fd: Int32, name path: String, limit: Int = 1 << 31) throws -> [UInt8] {
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            throw EngineError.io("cannot read \(path): it is a directory")
        }
        if (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) > limit {
            throw EngineError.io("cannot read \(path): it has \(st.st_size) bytes, more than the \(limit) accepted")
        }
        var out = [UInt8]()
        if (st.st_mode & S_IFMT) == S_IFREG { out.reserveCapacity(Int(st.st_size)) }
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw EngineError.io("cannot read \(path): \(reason(errno, path: path))")
            }
            if n == 0 { return out }
            guard out.count + n <= limit else {
                throw EngineError.io("cannot read \(path): it is larger than the \(limit) bytes accepted")
            }
            out.append(contentsOf: buf[0..<n])
        }
    }

    /// Why `path` could not be opened or read, in plain words ("no such file", "it is a
    /// directory", "permission denied", "symbolic links loop (a -> b -> a)", ...).
    public static func reason(_ code: Int32, path: String) -> String {
        switch code {
        case ENOENT:
            if let dest = linkDestination(path) { return "no such file (it is a symbolic link to \(dest), which does not exist)" }
            return "no such file"
        case EISDIR: return "it is a directory"
        case EACCES, EPERM: return "permission denied"
        case ENOTDIR: return "a part of the path is not a directory"
        case ELOOP: return "symbolic links loop (\(linkChain(path)))"
        default: return String(cString: strerror(code)).lowercased()
        }
    }

    /// Why `path` cannot be read, found by looking at it (for errors from APIs that do not give errno).
    public static func explain(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return reason(errno, path: path) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { return "it is a directory" }
        var byte: UInt8 = 0
        if Foundation.read(fd, &byte, 1) < 0 { return reason(errno, path: path) }
        return "it could not be read"
    }

    static func linkDestination(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buf, buf.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// "a -> b -> a": the chain of links from `path` until a name repeats (at most 10 hops shown).
    static func linkChain(_ path: String) -> String {
        var chain = [path]
        var current = path
        while chain.count <= 10, let dest = linkDestination(current) {
            current = dest.hasPrefix("/") ? dest
                : URL(fileURLWithPath: current).deletingLastPathComponent().appendingPathComponent(dest).path
            let shown = dest
            chain.append(shown)
            if chain.dropLast().contains(shown) || chain.dropLast().contains(current) { break }
        }
        return chain.joined(separator: " -> ")
    }
}
