// Shared helpers of the data tests: fixture paths and raw reference files.
import Foundation
import XCTest
@testable import Engine
@testable import Tensor

enum Fixture {
    /// Absolute path of Fixtures/<relative>.
    static func path(_ relative: String) throws -> String {
        guard let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw XCTSkip("fixtures missing from the test bundle")
        }
        return root.appendingPathComponent(relative).path
    }

    static func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: try path(relative))))
    }

    static func floats(_ relative: String) throws -> [Float] {
        let b = try bytes(relative)
        return stride(from: 0, to: b.count, by: 4).map { i in
            Float(bitPattern: UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24)
        }
    }

    static func json(_ relative: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: try path(relative))))
    }

    /// The reference cases written by scripts/fixtures/gen_data.py.
    static func cases(_ kind: String) throws -> [[String: Any]] {
        let all = try XCTUnwrap(try json("reference/cases.json") as? [[String: Any]])
        return all.filter { ($0["kind"] as? String) == kind }
    }

    /// The two reference input images.
    static func input(_ name: String) throws -> PixelImage {
        let px = try bytes("reference/input_\(name).u8")
        return name == "rgb" ? PixelImage(width: 23, height: 17, channels: 3, pixels: px)
                             : PixelImage(width: 16, height: 15, channels: 1, pixels: px)
    }
}

/// Asserts `body` throws an error whose text contains every one of `parts`.
func assertThrows(_ parts: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected an error mentioning \(parts)", file: file, line: line)
    } catch {
        let text = "\(error)"
        for p in parts where !text.contains(p) {
            XCTFail("error '\(text)' does not mention '\(p)'", file: file, line: line)
        }
    }
}

/// Largest absolute difference and count of differing bytes.
func byteDiff(_ a: [UInt8], _ b: [UInt8]) -> (max: Int, count: Int) {
    var m = 0, c = 0
    for (x, y) in zip(a, b) where x != y { m = max(m, abs(Int(x) - Int(y))); c += 1 }
    return (m, c)
}
