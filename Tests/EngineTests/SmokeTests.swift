import XCTest

final class EngineTestsSmoke: XCTestCase {
    func testPackageBuilds() { XCTAssertTrue(true) }
}
