import XCTest

final class EndToEndTestsSmoke: XCTestCase {
    func testPackageBuilds() { XCTAssertTrue(true) }
}
