import XCTest

final class RuntimeTestsSmoke: XCTestCase {
    func testPackageBuilds() { XCTAssertTrue(true) }
}
