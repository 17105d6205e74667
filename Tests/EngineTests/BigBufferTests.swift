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

    func testANewPeakFreesCachedBuffersOfOtherSizesFirst() {
        let n = BigBuffers.minCount
        do { _ = Tensor(uninitialized: [n]) }
        XCTAssertEqual(BigBuffers.heldBytes, n * 4, "the freed buffer is kept")
        // A larger buffer raises live bytes above anything live before: the kept buffer, which
        // cannot serve it, is freed rather than held on top of the new peak.
        let big = Tensor(uninitialized: [n + 16])
        XCTAssertEqual(BigBuffers.heldBytes, 0, "nothing is kept on top of a new peak")
        _ = big
    }

    func testBelowThePeakBuffersOfOtherSizesStayCached() {
        let n = BigBuffers.minCount
        do {
            let two = [Tensor(uninitialized: [2 * n]), Tensor(uninitialized: [n + 16])]
            XCTAssertEqual(two.count, 2)
        }
        XCTAssertEqual(BigBuffers.heldBytes, (3 * n + 16) * 4)
        // 3n + 16 floats were live at once; n + 8 more on top of both cached buffers would exceed
        // that by n + 8, which the (n + 16)-float buffer alone covers: it goes, the 2n one stays.
        let other = Tensor(uninitialized: [n + 8])
        XCTAssertEqual(BigBuffers.heldBytes, 2 * n * 4, "only what exceeds the earlier peak is freed")
        _ = other
    }
}
