import XCTest

final class DataTestsSmoke: XCTestCase {
    func testPackageBuilds() { XCTAssertTrue(true) }
}
