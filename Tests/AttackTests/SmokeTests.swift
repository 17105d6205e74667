import XCTest

final class AttackTestsSmoke: XCTestCase {
    func testPackageBuilds() { XCTAssertTrue(true) }
}
