import XCTest

final class TrainTestsSmoke: XCTestCase {
    func testPackageBuilds() { XCTAssertTrue(true) }
}
