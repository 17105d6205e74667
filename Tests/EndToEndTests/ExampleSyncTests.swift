import Foundation
import XCTest

/// The end-to-end harness only sees Tests/EndToEndTests/Scripts, so the quickstart example is
/// tested through a copy there. This keeps the copy and examples/quickstart.adv identical.
final class ExampleSyncTests: XCTestCase {
    func testQuickstartCopyMatchesExample() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let example = try String(contentsOf: repo.appendingPathComponent("examples/quickstart.adv"), encoding: .utf8)
        let copy = try String(contentsOf: repo.appendingPathComponent("Tests/EndToEndTests/Scripts/quickstart.adv"), encoding: .utf8)
        // Both start with their own header comment; everything after it must be identical.
        func body(_ text: String) -> [Substring] {
            Array(text.split(separator: "\n", omittingEmptySubsequences: false).drop { $0.hasPrefix("#") })
        }
        XCTAssertFalse(body(example).isEmpty)
        XCTAssertEqual(body(example), body(copy), "examples/quickstart.adv changed: copy it to Tests/EndToEndTests/Scripts/quickstart.adv and regenerate quickstart.out")
    }
}
