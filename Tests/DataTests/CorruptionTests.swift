// Every truncation and a few thousand seeded byte corruptions of valid IDX, .npy, PNG and JPEG files
// must either decode or throw an error naming the source; never crash, hang or over-allocate.
import Foundation
import XCTest
@testable import Engine
@testable import Tensor

final class CorruptionTests: XCTestCase {
    func check(_ name: String, _ bytes: [UInt8], _ decode: ([UInt8]) throws -> Void) {
        var errors = 0
        func attempt(_ b: [UInt8]) {
            do { try decode(b) } catch {
                errors += 1
                XCTAssertTrue("\(error)".contains(name), "error does not name \(name): \(error)")
            }
        }
        for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 200)) { attempt(Array(bytes[0..<cut])) }
        let rng = RNG(seed: 11)
        for _ in 0..<300 {
            var b = bytes
            for _ in 0..<(1 + rng.int(4)) { b[rng.int(b.count)] = UInt8(rng.int(256)) }
            attempt(b)
        }
        XCTAssertGreaterThan(errors, 100, name)
    }

    func testTruncatedAndCorruptedFilesNeverCrash() throws {
        check("mem.jpg", try Fixture.bytes("files/folder/cat/a.jpg")) { _ = try ImageFile.decode($0, source: "mem.jpg") }
        check("mem.png", try Fixture.bytes("files/folder/cat/b.png")) { _ = try ImageFile.decode($0, source: "mem.png") }
        check("mem.npy", try Fixture.bytes("files/npy/x_nhwc_u8.npy")) { _ = try NPYArray.parse($0, source: "mem.npy") }
        let idx = try Fixture.bytes("files/mnist/t10k-images-idx3-ubyte")
        check("mem.idx", idx) { _ = try IDXArray.parse($0, source: "mem.idx") }
    }
}
