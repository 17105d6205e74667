// Storage's cache of freed buffers above 32 MB (BigBuffers in Tensor.swift).
import XCTest
@testable import Engine
@testable import Tensor

final class BigBufferTests: XCTestCase {
    override func setUp() { BigBuffers.drain() }
    override func tearDown() { BigBuffers.drain() }

    func testSameSizeReusesTheBufferAndZeroFillsIt() {
        let count = BigBuffers.minCount + 16
        var first: UnsafeMutablePointer<Float>?
        do {
            let t = Tensor(zeros: [count])
            first = t.ptr
            t.ptr[5] = 7
        }
        XCTAssertEqual(BigBuffers.heldBytes, count * 4, "the freed buffer is kept")
        let again = Tensor(zeros: [count])
        XCTAssertEqual(again.ptr, first, "the same size gets the kept buffer back")
        XCTAssertEqual(again.ptr[5], 0, "zeros(...) still zero-fills a reused buffer")
        XCTAssertEqual(BigBuffers.heldBytes, 0)
        // Another size does not take it.
        let other = Tensor(uninitialized: [count + 1])
        XCTAssertNotEqual(other.ptr, first)
    }

    func testSmallBuffersAreNotKeptAndTheLimitHolds() {
        _ = Tensor(zeros: [BigBuffers.minCount - 1])
        XCTAssertEqual(BigBuffers.heldBytes, 0, "below 32 MB glibc's heap reuses memory itself")
        let per = BigBuffers.minCount * 4
        let fit = BigBuffers.limit / per
        do {
            let ts = (0..<(fit + 2)).map { _ in Tensor(uninitialized: [BigBuffers.minCount]) }
            XCTAssertEqual(ts.count, fit + 2)
        }
        XCTAssertEqual(BigBuffers.heldBytes, fit * per, "only as many as the limit allows are kept")
    }
}
