// The safetensors format (https://huggingface.co/docs/safetensors): 8 bytes little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
// {string: string}}, then the raw little-endian data. Used for weights (timm state-dict names and
// PyTorch layouts), checkpoints and test fixtures.
//
// The reader treats every file as hostile: a header length past the end of the file, offsets out
// of range or overlapping, sizes that disagree with the shape, unknown dtypes and absurd shapes
// are clear errors, never a crash or a huge allocation.
import Foundation
import Tensor

public enum Safetensors {
    /// Element types that can be read (all become float32 tensors) and written.
    public enum DType: String, CaseIterable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64"
        case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .f64, .i64: return 8
            case .f32, .i32: return 4
            case .f16, .bf16, .i16: return 2
            case .i8, .u8, .bool: return 1
            }
        }
    }

    /// One tensor read from a file: its values as float32 and the dtype it was stored in.
    public struct Entry {
        public let tensor: Tensor
        public let dtype: DType
    }

    /// The largest header accepted (the format's own limit is 100 MB).
    static let maxHeader = 100_000_000
    /// The largest element count of one tensor accepted (2^31).
    static let maxElements = 1 << 31

    /// Reads every tensor of a safetensors file as float32.
    /// - Parameter path: the file.
    /// - Returns: tensors by name and the `__metadata__` strings.
    public static func read(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let (entries, metadata) = try readEntries(path)
        return (entries.mapValues { $0.tensor }, metadata)
    }

    /// Reads every tensor with the dtype it was stored in.
    public static func readEntries(_ path: String) throws -> (entries: [String: Entry], metadata: [String: String]) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe) } catch {
            throw EngineError.io("cannot read \(path): \(FileContents.explain(path))")
        }
        return try parse(data, name: path)
    }

    /// Parses safetensors bytes; `name` is used in error messages.
    public static func parse(_ data: Data, name: String) throws -> (entries: [String: Entry], metadata: [String: String]) {
        func fail(_ why: String) -> EngineError { .io("\(name): not a valid safetensors file: \(why)") }
        guard data.count >= 8 else { throw fail("file is \(data.count) bytes, shorter than the 8-byte header length") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(data[data.startIndex + i]) << (8 * UInt64(i)) }
        guard n <= UInt64(maxHeader) else { throw fail("header length \(n) is larger than \(maxHeader) bytes") }
        guard 8 + Int(n) <= data.count else {
            throw fail("header length \(n) runs past the end of the file (\(data.count) bytes; truncated?)")
        }
        let headerBytes = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + 8 + Int(n)))
        guard let json = try? JSONSerialization.jsonObject(with: headerBytes), let header = json as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        let dataStart = data.startIndex + 8 + Int(n)
        let dataSize = data.count - 8 - Int(n)
        var metadata: [String: String] = [:]
        var spans: [(begin: Int, end: Int, name: String)] = []
        var entries: [String: Entry] = [:]
        for (key, value) in header {
            if key == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw fail("__metadata__[\(k)] is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw fail("entry '\(key)' is not an object") }
            guard let dt = info["dtype"] as? String else { throw fail("entry '\(key)' has no dtype") }
            guard let dtype = DType(rawValue: dt) else {
                throw fail("entry '\(key)' has unknown dtype \(dt) (known: \(DType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let shapeAny = info["shape"] as? [Any] else { throw fail("entry '\(key)' has no shape") }
            var shape: [Int] = []
            var elements = 1
            for d in shapeAny {
                guard let num = d as? NSNumber, let dim = Int(exactly: num.doubleValue), dim >= 0, dim <= maxElements else {
                    throw fail("entry '\(key)' has an invalid shape \(shapeAny)")
                }
                shape.append(dim)
                let (p, overflow) = elements.multipliedReportingOverflow(by: dim)
                guard !overflow, p <= maxElements else { throw fail("entry '\(key)' has an absurd shape \(shape)") }
                elements = p
            }
            guard let offs = info["data_offsets"] as? [Any], offs.count == 2,
                  let b = (offs[0] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }),
                  let e = (offs[1] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }) else {
                throw fail("entry '\(key)' has no valid data_offsets")
            }
            guard 0 <= b, b <= e, e <= dataSize else {
                throw fail("entry '\(key)' has offsets [\(b), \(e)] outside the data (\(dataSize) bytes; truncated?)")
            }
            guard e - b == elements * dtype.size else {
                throw fail("entry '\(key)' has \(e - b) bytes but shape \(shape) of \(dt) needs \(elements * dtype.size)")
            }
            spans.append((b, e, key))
            let t = Tensor(zeros: shape)
            data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                guard let base = raw.baseAddress else { return }
                convert(base.advanced(by: dataStart - data.startIndex + b), dtype, elements, into: t.ptr)
            }
            entries[key] = Entry(tensor: t, dtype: dtype)
        }
        spans.sort { $0.begin < $1.begin }
        for i in spans.indices.dropFirst() where spans[i].begin < spans[i - 1].end {
            throw fail("entries '\(spans[i - 1].name)' and '\(spans[i].name)' overlap")
        }
        return (entries, metadata)
    }

    /// Converts `count` little-endian elements of `dtype` at `src` to float32.
    static func convert(_ src: UnsafeRawPointer, _ dtype: DType, _ count: Int, into dst: UnsafeMutablePointer<Float>) {
        switch dtype {
        case .f32:
            for i in 0..<count { dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .f64:
            for i in 0..<count { dst[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
        case .f16:
            for i in 0..<count { dst[i] = Float(Float16(bitPattern: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
        case .bf16:
            for i in 0..<count {
                let h = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                dst[i] = Float(bitPattern: UInt32(h) << 16)
            }
        case .i64:
            for i in 0..<count { dst[i] = Float(Int64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
        case .i32:
            for i in 0..<count { dst[i] = Float(Int32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
        case .i16:
            for i in 0..<count { dst[i] = Float(Int16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
        case .i8:
            for i in 0..<count { dst[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) }
        case .u8, .bool:
            for i in 0..<count { dst[i] = Float(src.load(fromByteOffset: i, as: UInt8.self)) }
        }
    }

    /// Serialises tensors (in the given order) and metadata to safetensors bytes.
    /// - Parameters:
    ///   - entries: name, tensor and the dtype to store it as (F32, F16, BF16 round to nearest even, I64/I32 round to integers).
    ///   - metadata: free-form strings stored under `__metadata__`.
    public static func serialize(_ entries: [(name: String, tensor: Tensor, dtype: DType)],
                                 metadata: [String: String] = [:]) throws -> Data {
        var names = Set<String>()
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for e in entries {
            guard !e.name.isEmpty, e.name != "__metadata__", names.insert(e.name).inserted else {
                throw EngineError.invalidArgument("safetensors: tensor name '\(e.name)' is empty, reserved or repeated")
            }
            let bytes = e.tensor.count * e.dtype.size
            header[e.name] = ["dtype": e.dtype.rawValue, "shape": e.tensor.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }  // pad with spaces to 8-byte alignment
        var out = Data(capacity: 8 + json.count + offset)
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        for e in entries {
            let p = e.tensor.ptr, c = e.tensor.count
            var buf = [UInt8](repeating: 0, count: c * e.dtype.size)
            buf.withUnsafeMutableBytes { raw in
                guard let dst = raw.baseAddress else { return }
                for i in 0..<c {
                    let v = p[i]
                    switch e.dtype {
                    case .f32: dst.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                    case .f64: dst.storeBytes(of: Double(v).bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self)
                    case .f16: dst.storeBytes(of: Float16(v).bitPattern.littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                    case .bf16: dst.storeBytes(of: bf16Bits(v).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                    case .i64: dst.storeBytes(of: Int64(clamping: Int(exactlyOrZero: v)).littleEndian, toByteOffset: 8 * i, as: Int64.self)
                    case .i32: dst.storeBytes(of: Int32(clamping: Int(exactlyOrZero: v)).littleEndian, toByteOffset: 4 * i, as: Int32.self)
                    case .i16: dst.storeBytes(of: Int16(clamping: Int(exactlyOrZero: v)).littleEndian, toByteOffset: 2 * i, as: Int16.self)
                    case .i8: dst.storeBytes(of: Int8(clamping: Int(exactlyOrZero: v)), toByteOffset: i, as: Int8.self)
                    case .u8, .bool: dst.storeBytes(of: UInt8(clamping: Int(exactlyOrZero: v)), toByteOffset: i, as: UInt8.self)
                    }
                }
            }
            out.append(contentsOf: buf)
        }
        return out
    }

    /// Writes a safetensors file atomically (temp file + rename).
    public static func write(_ entries: [(name: String, tensor: Tensor, dtype: DType)],
                             metadata: [String: String] = [:], to path: String) throws {
        try AtomicFile.write(serialize(entries, metadata: metadata), to: path)
    }

    /// bfloat16 bits of `v`: the high 16 bits of the float32, rounded to nearest even (NaN kept NaN).
    static func bf16Bits(_ v: Float) -> UInt16 {
        let b = v.bitPattern
        if v.isNaN { return UInt16(b >> 16) | 0x40 }
        let rounded = b &+ 0x7FFF &+ ((b >> 16) & 1)
        return UInt16(rounded >> 16)
    }
}

private extension Int {
    /// The nearest integer to a float, 0 for NaN, clamped for infinities.
    init(exactlyOrZero v: Float) {
        if v.isNaN { self = 0 } else if v >= 9.2e18 { self = Int.max } else if v <= -9.2e18 { self = Int.min } else { self = Int(v.rounded()) }
    }
}
