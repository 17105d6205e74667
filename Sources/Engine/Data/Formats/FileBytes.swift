// Reading whole files (plain or gzipped) with a hard size cap, so a malicious header or a gzip bomb
// cannot make us allocate more than the data that actually arrives.
import CZlib
import Foundation
import Tensor

enum FileBytes {
    /// Names the Debian package or download that provides a missing file, for error messages.
    static func missing(_ path: String, hint: String?) -> EngineError {
        var m = "cannot open \(path): no such file"
        if let h = hint { m += " (\(h))" }
        return EngineError.io(m)
    }

    /// The bytes of `path`, gunzipped when it is gzip-compressed (zlib reads plain files unchanged).
    /// - Parameters:
    ///   - path: the file.
    ///   - limit: the largest decompressed size accepted; bigger files are an error.
    ///   - hint: how to get the file when missing.
    ///   - declared: given the bytes read so far, the whole file's size its header declares (nil:
    ///     not known yet); the limit then shrinks to it, so a gzip bomb behind a small header stops
    ///     after the declared size instead of at `limit` (docs/reliability.md).
    static func read(_ path: String, limit: Int, hint: String? = nil,
                     declared: (([UInt8]) throws -> Int?)? = nil) throws -> [UInt8] {
        var limit = limit
        var sized = declared == nil
        guard FileManager.default.fileExists(atPath: path) else { throw missing(path, hint: hint) }
        guard let gz = gzopen(path, "rb") else {
            throw EngineError.io("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { gzclose(gz) }
        // Loading a large file shows on the shared progress display (in KB of the file on disk).
        let size = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.intValue ?? 0
        let progress = Progress("load \(URL(fileURLWithPath: path).lastPathComponent)", total: size / 1024, unit: "KB", delay: 1)
        defer { progress.finish() }
        var out = [UInt8]()
        let chunk = 1 << 16
        var buf = [UInt8](repeating: 0, count: chunk)
        while true {
            let n = buf.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32(chunk)) }
            if n < 0 {
                var code: Int32 = 0
                let msg = gzerror(gz, &code).map { String(cString: $0) } ?? "read error"
                throw EngineError.io("\(path) is corrupt: \(msg)")
            }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<Int(n)])
            if !sized, let d = try declared?(out) {
                sized = true
                if d < limit { limit = d }
            }
            progress.update(Int(gzoffset(gz)) / 1024)
            if out.count > limit {
                throw EngineError.io("\(path) is larger than the \(limit) bytes expected; refusing to read it")
            }
        }
        // gzread returns 0 at a truncated gzip stream too; zlib reports it through gzerror.
        var code: Int32 = 0
        if let e = gzerror(gz, &code), code != Z_OK && code != Z_STREAM_END {
            throw EngineError.io("\(path) is corrupt or truncated: \(String(cString: e))")
        }
        return out
    }
}
