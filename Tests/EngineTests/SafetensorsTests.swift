import Foundation
import XCTest
@testable import Engine
@testable import Tensor

final class SafetensorsTests: XCTestCase {
    func fixture(_ name: String) throws -> String {
        try XCTUnwrap(Bundle.module.path(forResource: "Fixtures/\(name)", ofType: nil))
    }

    /// Builds a file from a raw header string and a data section.
    func raw(header: String, data: [UInt8]) -> Data {
        var d = Data()
        var n = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(Data(header.utf8))
        d.append(contentsOf: data)
        return d
    }

    func assertInvalid(_ d: Data, contains needle: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Safetensors.parse(d, name: "bad.safetensors"), file: file, line: line) { e in
            let msg = "\(e)"
            XCTAssertTrue(msg.contains("bad.safetensors"), "error should name the file: \(msg)", file: file, line: line)
            XCTAssertTrue(msg.contains(needle), "expected '\(needle)' in: \(msg)", file: file, line: line)
        }
    }

    func testReadsFileWrittenByReferenceLibrary() throws {
        let (entries, meta) = try Safetensors.readEntries(fixture("safetensors_dtypes.safetensors"))
        XCTAssertEqual(meta["note"], "adv fixture")
        let expected: [Float] = [0, 1.5, -2.25, 3.0e4, -1.0e-3, 7]
        for name in ["a.f32", "a.f64"] {
            XCTAssertEqual(entries[name]?.tensor.shape, [2, 3])
            XCTAssertEqual(entries[name]?.tensor.toArray(), expected)
        }
        // Half types round: compare against the nearest representable values.
        XCTAssertEqual(entries["a.f16"]?.tensor.toArray(), expected.map { Float(Float16($0)) })
        XCTAssertEqual(entries["a.bf16"]?.dtype, .bf16)
        let bf = try XCTUnwrap(entries["a.bf16"]?.tensor.toArray())
        for (a, b) in zip(bf, expected) { XCTAssertEqual(a, b, accuracy: abs(b) / 128 + 1e-6) }
        XCTAssertEqual(entries["n.i64"]?.tensor.shape, [])
        XCTAssertEqual(entries["n.i64"]?.tensor.item, 12345678)
        XCTAssertEqual(entries["n.i64"]?.dtype, .i64)
        XCTAssertEqual(entries["u.u8"]?.tensor.toArray(), [0, 7, 255])
    }

    func testRoundTripEveryDtype() throws {
        let t = try Tensor(shape: [2, 2], data: [1, -2, 3.5, 250])
        let entries: [(name: String, tensor: Tensor, dtype: Safetensors.DType)] =
            Safetensors.DType.allCases.map { ("t.\($0.rawValue)", t, $0) }
        let d = try Safetensors.serialize(entries, metadata: ["k": "v"])
        let (back, meta) = try Safetensors.parse(d, name: "mem")
        XCTAssertEqual(meta, ["k": "v"])
        XCTAssertEqual(back["t.F32"]?.tensor.toArray(), [1, -2, 3.5, 250])
        XCTAssertEqual(back["t.I64"]?.tensor.toArray(), [1, -2, 4, 250])  // 3.5 rounds half away from zero
        XCTAssertEqual(back["t.U8"]?.tensor.toArray(), [1, 0, 4, 250])
        XCTAssertEqual(back["t.BF16"]?.tensor.toArray(), [1, -2, 3.5, 250])
    }

    func testBF16RoundsToNearestEven() {
        // 1 + 2^-8 lies exactly between two bf16 values (1 and 1 + 2^-7): ties go to even (1).
        XCTAssertEqual(Safetensors.bf16Bits(1 + 1.0 / 256), Safetensors.bf16Bits(1))
        // 1 + 3 * 2^-8 is a tie between 1 + 2^-7 (odd) and 1 + 2^-6 (even): goes up.
        XCTAssertEqual(Safetensors.bf16Bits(1 + 3.0 / 256), Safetensors.bf16Bits(1 + 1.0 / 64))
        XCTAssertTrue(Float(bitPattern: UInt32(Safetensors.bf16Bits(.nan)) << 16).isNaN)
    }

    func testWriteIsAtomicAndReadable() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("w.safetensors").path
        try Safetensors.write([("x", Tensor(shape: [3], repeating: 2), .f32)], to: path)
        XCTAssertEqual(try Safetensors.read(path).tensors["x"]?.toArray(), [2, 2, 2])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp") }
        XCTAssertEqual(leftovers, [])
        XCTAssertThrowsError(try Safetensors.write([("x", Tensor(zeros: [1]), .f32)], to: "/nonexistent-dir/x.safetensors"))
    }

    func testMissingFileIsNamed() {
        XCTAssertThrowsError(try Safetensors.read("/no/such/file.safetensors")) { e in
            XCTAssertTrue("\(e)".contains("/no/such/file.safetensors"))
        }
    }

    func testMaliciousFiles() {
        assertInvalid(Data([1, 2, 3]), contains: "shorter than")
        // Header length far past the end of the file.
        var huge = Data([0xFF, 0xFF, 0xFF, 0x0F, 0, 0, 0, 0]); huge.append(Data("{}".utf8))
        assertInvalid(huge, contains: "header length")
        var past = Data([100, 0, 0, 0, 0, 0, 0, 0]); past.append(Data("{}".utf8))
        assertInvalid(past, contains: "past the end")
        assertInvalid(raw(header: "not json", data: []), contains: "JSON")
        assertInvalid(raw(header: #"{"a":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}}"#, data: [0]), contains: "unknown dtype")
        assertInvalid(raw(header: #"{"a":{"dtype":"F32","shape":[1000000,1000000,1000000],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), contains: "absurd shape")
        assertInvalid(raw(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), contains: "invalid shape")
        assertInvalid(raw(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]), contains: "outside the data")
        assertInvalid(raw(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), contains: "needs 8")
        assertInvalid(raw(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0]), contains: "outside the data")
        assertInvalid(raw(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                          data: [UInt8](repeating: 0, count: 8)), contains: "overlap")
        assertInvalid(raw(header: #"{"__metadata__":{"k":1}}"#, data: []), contains: "not a string")
    }

    func testFuzzedHeadersNeverCrash() throws {
        let good = try Safetensors.serialize([("w", Tensor(shape: [4], repeating: 1), .f32),
                                              ("b", Tensor(shape: [2], repeating: 1), .bf16)])
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            var d = good
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<d.count, using: &rng)
                d[i] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { d = d.prefix(Int.random(in: 0...d.count, using: &rng)) }
            _ = try? Safetensors.parse(d, name: "fuzz")
        }
    }
}
