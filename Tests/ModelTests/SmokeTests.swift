import XCTest

final class ModelTestsSmoke: XCTestCase {
    func testPackageBuilds() { XCTAssertTrue(true) }
}
