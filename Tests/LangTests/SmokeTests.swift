import XCTest

final class LangTestsSmoke: XCTestCase {
    func testPackageBuilds() { XCTAssertTrue(true) }
}
