// IDX files (MNIST, Fashion-MNIST): magic 00 00 <type> <rank>, rank big-endian UInt32 dimensions,
// then the values. Only unsigned bytes (type 0x08) are used by these data sets.

import Tensor

/// A parsed IDX array of unsigned bytes.
public struct IDXArray {
    public let dims: [Int]
    public let values: [UInt8]
    /// Largest IDX file accepted (decompressed): 512 MiB.
    public static let maxBytes = 1 << 29

    /// Parses an IDX file (plain or gzipped). Checks magic, type, rank, dimensions and size before
    /// trusting them; a declared size that does not match the data is an error naming the file.
    /// - Parameters:
    ///   - path: the file.
    ///   - hint: how to get the file when missing (e.g. the apt package).
    public static func read(_ path: String, hint: String? = nil) throws -> IDXArray {
        // 2 GiB cap on the decompressed size (a gzip bomb stops there): 40 times the largest IDX data
        // set; memory grows only with data that actually arrives, never with a declared size.
        // Once the header has arrived, reading stops past the size it declares (a bomb behind a
        // valid header costs at most that much), and the declared size itself is checked first.
        let bytes = try FileBytes.read(path, limit: 1 << 31, hint: hint) { head in
            try declaredSize(head, source: path)
        }
        return try parse(bytes, source: path)
    }

    /// The file size the header at the start of `head` declares (nil until the header is complete).
    static func declaredSize(_ head: [UInt8], source: String) throws -> Int? {
        guard head.count >= 4 else { return nil }
        let rank = Int(head[3])
        guard head.count >= 4 + 4 * rank else { return nil }
        guard rank >= 1, rank <= 4, head[0] == 0, head[1] == 0 else { return nil }  // parse() says what is wrong
        var total = 1
        for i in 0..<rank {
            let o = 4 + 4 * i
            let d = Int(head[o]) << 24 | Int(head[o + 1]) << 16 | Int(head[o + 2]) << 8 | Int(head[o + 3])
            let (p, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow, p <= maxBytes else {
                throw EngineError.io("\(source): the header declares more than the \(maxBytes) values accepted (a corrupt or malicious file?)")
            }
            total = p
        }
        return 4 + 4 * rank + total
    }

    /// Parses IDX bytes already in memory.
    /// - Parameters:
    ///   - bytes: the whole file.
    ///   - source: what to name in errors.
    public static func parse(_ bytes: [UInt8], source: String) throws -> IDXArray {
        guard bytes.count >= 4 else {
            throw EngineError.io("\(source) is not an IDX file: only \(bytes.count) bytes")
        }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw EngineError.io("\(source) is not an IDX file: wrong magic number \(bytes[0]) \(bytes[1]) (expected 0 0)")
        }
        guard bytes[2] == 0x08 else {
            throw EngineError.io("\(source): IDX element type 0x\(String(bytes[2], radix: 16)) is not supported (only unsigned bytes, 0x08)")
        }
        let rank = Int(bytes[3])
        guard rank >= 1, rank <= 4 else { throw EngineError.io("\(source): IDX rank \(rank) is not 1...4") }
        guard bytes.count >= 4 + 4 * rank else {
            throw EngineError.io("\(source) is truncated: the header needs \(4 + 4 * rank) bytes, the file has \(bytes.count)")
        }
        var dims = [Int]()
        var total = 1
        for i in 0..<rank {
            let o = 4 + 4 * i
            let d = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
            dims.append(d)
            let (p, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow, p <= 1 << 40 else { throw EngineError.io("\(source): declared dimensions \(dims) are absurdly large") }
            total = p
        }
        let header = 4 + 4 * rank
        let have = bytes.count - header
        guard have == total else {
            if have < total {
                throw EngineError.io("\(source) is truncated: dimensions \(dims) need \(total) bytes of data, the file has \(have)")
            }
            throw EngineError.io("\(source) has \(have - total) unexpected trailing bytes after \(dims) values")
        }
        return IDXArray(dims: dims, values: Array(bytes[header...]))
    }
}
