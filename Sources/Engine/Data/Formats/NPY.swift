// .npy arrays (NumPy format 1.0-3.0): magic "\x93NUMPY", version, header length, a Python-dict header
// {'descr': '<f4', 'fortran_order': False, 'shape': (N, H, W)}, then the C-order data.
import Foundation
import Tensor

/// A parsed .npy array converted to Double-free storage: bytes (uint8) or floats.
public struct NPYArray {
    public enum Storage { case bytes([UInt8]), floats([Float]), ints([Int]) }
    public let shape: [Int]
    public let storage: Storage

    /// Reads and validates a .npy file.
    /// - Parameters:
    ///   - path: the file.
    public static func read(_ path: String) throws -> NPYArray {
        return try parse(try FileContents.read(path, limit: 1 << 33), source: path)
    }

    /// Parses .npy bytes.
    /// - Parameters:
    ///   - b: the whole file.
    ///   - source: what to name in errors.
    public static func parse(_ b: [UInt8], source: String) throws -> NPYArray {
        guard b.count >= 10, b[0] == 0x93, Array(b[1...5]) == Array("NUMPY".utf8) else {
            throw EngineError.io("\(source) is not a .npy file (wrong magic)")
        }
        let major = b[6]
        let hlen: Int, hstart: Int
        if major == 1 {
            hlen = Int(b[8]) | Int(b[9]) << 8; hstart = 10
        } else if major == 2 || major == 3, b.count >= 12 {
            hlen = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24; hstart = 12
        } else {
            throw EngineError.io("\(source): unsupported .npy version \(major)")
        }
        guard hlen <= 1 << 20, hstart + hlen <= b.count else { throw EngineError.io("\(source) is truncated inside its header") }
        guard let header = String(bytes: b[hstart..<(hstart + hlen)], encoding: .utf8) else {
            throw EngineError.io("\(source): header is not text")
        }
        func field(_ key: String) -> String? {
            guard let r = header.range(of: "'\(key)':") else { return nil }
            return String(header[r.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let d = field("descr"), let q1 = d.firstIndex(of: "'"),
              let q2 = d[d.index(after: q1)...].firstIndex(of: "'") else {
            throw EngineError.io("\(source): header has no 'descr'")
        }
        let descr = String(d[d.index(after: q1)..<q2])
        if let f = field("fortran_order"), f.hasPrefix("True") {
            throw EngineError.io("\(source): Fortran-order arrays are not supported (save with np.ascontiguousarray)")
        }
        // The ")" searched after the "(" (a header with ")" first crashed the slice below; fuzzing).
        guard let s = field("shape"), let open = s.firstIndex(of: "("), let close = s[open...].firstIndex(of: ")") else {
            throw EngineError.io("\(source): header has no 'shape'")
        }
        var shape = [Int]()
        for part in s[s.index(after: open)..<close].split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let v = Int(t), v >= 0, v <= 1 << 40 else { throw EngineError.io("\(source): bad dimension '\(t)' in shape") }
            shape.append(v)
        }
        var total = 1
        for v in shape {
            let (p, o) = total.multipliedReportingOverflow(by: v)
            guard !o, p <= 1 << 40 else { throw EngineError.io("\(source): declared shape \(shape) is absurdly large") }
            total = p
        }
        let kind = descr.dropFirst()
        let order = descr.first ?? "|"
        guard order != ">" else { throw EngineError.io("\(source): big-endian arrays ('\(descr)') are not supported") }
        let size: Int
        switch kind {
        case "u1", "i1", "b1": size = 1
        case "i2", "u2", "f2": size = 2
        case "i4", "u4", "f4": size = 4
        case "i8", "u8", "f8": size = 8
        default: throw EngineError.io("\(source): dtype '\(descr)' is not supported (use uint8, int, float32 or float64)")
        }
        let start = hstart + hlen
        let have = b.count - start
        guard have == total * size else {
            throw EngineError.io("\(source) is \(have < total * size ? "truncated" : "too long"): shape \(shape) of \(descr) needs \(total * size) data bytes, the file has \(have)")
        }
        let storage: Storage = b.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return .bytes([]) } // b has at least 10 bytes
            let p = base + start
            func load<T>(_: T.Type, _ i: Int) -> T { p.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self) }
            switch kind {
            case "u1", "b1": return .bytes(Array(b[start...]))
            case "i1": return .ints((0..<total).map { Int(load(Int8.self, $0)) })
            case "i2": return .ints((0..<total).map { Int(Int16(littleEndian: load(Int16.self, $0))) })
            case "u2": return .ints((0..<total).map { Int(UInt16(littleEndian: load(UInt16.self, $0))) })
            case "i4": return .ints((0..<total).map { Int(Int32(littleEndian: load(Int32.self, $0))) })
            case "u4": return .ints((0..<total).map { Int(UInt32(littleEndian: load(UInt32.self, $0))) })
            case "i8": return .ints((0..<total).map { Int(Int64(littleEndian: load(Int64.self, $0))) })
            case "u8": return .ints((0..<total).map { Int(truncatingIfNeeded: UInt64(littleEndian: load(UInt64.self, $0))) })
            case "f2": return .floats((0..<total).map { Float(Float16(bitPattern: UInt16(littleEndian: load(UInt16.self, $0)))) })
            case "f4": return .floats((0..<total).map { Float(bitPattern: UInt32(littleEndian: load(UInt32.self, $0))) })
            default: return .floats((0..<total).map { Float(Double(bitPattern: UInt64(littleEndian: load(UInt64.self, $0)))) })
            }
        }
        return NPYArray(shape: shape, storage: storage)
    }
}

extension Datasets {
    /// A data set from two .npy files: images (N,H,W), (N,C,H,W) or (N,H,W,C) with C in {1, 3},
    /// uint8 (0...255) or float ([0, 1]); labels integer (N,).
    /// - Parameters:
    ///   - images: the image array's path.
    ///   - labels: the label array's path.
    ///   - classes: number of classes (default: largest label + 1).
    public static func npy(images: String, labels: String, classes: Int? = nil) throws -> Dataset {
        let x = try NPYArray.read(images)
        let y = try NPYArray.read(labels)
        guard y.shape.count == 1 else { throw EngineError.io("\(labels): labels must have shape (N,), got \(y.shape)") }
        let ys: [Int]
        switch y.storage {
        case .ints(let v): ys = v
        case .bytes(let v): ys = v.map(Int.init)
        case .floats(let v):
            guard v.allSatisfy({ $0 == $0.rounded() && $0 >= 0 }) else { throw EngineError.io("\(labels): float labels must be whole numbers") }
            ys = v.map { Int($0) }
        }
        guard x.shape.first == ys.count else {
            throw EngineError.io("\(images) has \(x.shape.first ?? 0) images but \(labels) has \(ys.count) labels")
        }
        guard !ys.isEmpty else { throw EngineError.io("\(images): no images") }
        if let bad = ys.first(where: { $0 < 0 }) { throw EngineError.io("\(labels): negative label \(bad)") }
        let k = classes ?? ((ys.max() ?? 0) + 1)
        if let bad = ys.first(where: { $0 >= k }) { throw EngineError.io("\(labels): label \(bad) outside 0..<\(k)") }
        let n = ys.count
        let (c, h, w, hwc): (Int, Int, Int, Bool)
        switch x.shape.count {
        case 3: (c, h, w, hwc) = (1, x.shape[1], x.shape[2], false)
        case 4 where x.shape[1] == 1 || x.shape[1] == 3: (c, h, w, hwc) = (x.shape[1], x.shape[2], x.shape[3], false)
        case 4 where x.shape[3] == 1 || x.shape[3] == 3: (c, h, w, hwc) = (x.shape[3], x.shape[1], x.shape[2], true)
        default: throw EngineError.io("\(images): image array shape \(x.shape) is not (N,H,W), (N,C,H,W) or (N,H,W,C) with C 1 or 3")
        }
        func planar<T>(_ v: [T]) -> [T] {
            guard hwc, c > 1 else { return v }
            var out = v
            let plane = h * w
            for i in 0..<n { for p in 0..<plane { for ch in 0..<c {
                out[i * c * plane + ch * plane + p] = v[(i * plane + p) * c + ch]
            } } }
            return out
        }
        switch x.storage {
        case .bytes(let v):
            return try ByteDataset(pixels: planar(v), labels: ys, shape: (c, h, w), classes: k, source: images)
        case .floats(let v):
            if let bad = v.first(where: { !($0 >= 0 && $0 <= 1) }) {
                throw EngineError.io("\(images): float pixels must be in [0, 1], found \(bad)")
            }
            return try FloatDataset(values: planar(v), labels: ys, shape: (c, h, w), classes: k, source: images)
        case .ints(let v):
            guard v.allSatisfy({ $0 >= 0 && $0 <= 255 }) else { throw EngineError.io("\(images): integer pixels must be in 0...255") }
            return try ByteDataset(pixels: planar(v.map { UInt8($0) }), labels: ys, shape: (c, h, w), classes: k, source: images)
        }
    }
}
