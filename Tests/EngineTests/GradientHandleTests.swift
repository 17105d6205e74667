// Gradient handles (Tensor.gradientHandle, Autograd.swift): ops whose backward never reads an
// input's values record a handle to it, so the graph does not keep that input's data alive
// (docs/architecture.md, "Memory"). The gradients must not change: every such op is checked
// against finite differences on an intermediate input (on a leaf the handle is the leaf itself),
// and the graph's bookkeeping (one node reached through a tensor and its handles runs once; a
// tensor that outlives the backward becomes a leaf) as before.
import XCTest
@testable import Tensor

final class GradientHandleTests: XCTestCase {
    /// `f` applied to computed copies of the inputs (x + 0), so every op sees an intermediate.
    private func check(_ name: String, _ inputs: [Tensor], line: UInt = #line, _ f: @escaping ([Tensor]) throws -> Tensor) {
        gradCheck(name, inputs, line: line) { xs in try f(xs.map { $0.add(scalar: 0) }) }
    }

    func testOpsOnIntermediatesMatchFiniteDifferences() throws {
        let a = rnd([2, 3, 4], seed: 1), b = rnd([3, 1], seed: 2, offset: 2), c = rnd([2, 3, 4], seed: 3)
        let pos = rnd([2, 3, 4], seed: 4, offset: 2)
        check("add", [a, b]) { try $0[0].add($0[1]) }
        check("sub", [a, b]) { try $0[0].sub($0[1]) }
        check("mul", [a, c]) { try $0[0].mul($0[1]) }
        let mask = try Tensor(shape: [3, 1], data: [1, 0, 2])
        check("mul by a constant", [a]) { try $0[0].mul(mask) }
        check("constant times", [a]) { try mask.mul($0[0]) }
        check("div", [a, b]) { try $0[0].div($0[1]) }
        check("scalar ops", [a]) { $0[0].add(scalar: 2).mul(scalar: -3).neg() }
        check("exp", [a]) { $0[0].exp() }
        check("sqrt", [pos]) { $0[0].sqrt() }
        check("sum", [a]) { $0[0].sum() }
        check("sum axes", [a]) { try $0[0].sum(axes: [0, 2]) }
        check("max", [a]) { try $0[0].max(axis: 1) }
        check("reshape", [a]) { try $0[0].reshape([6, -1]).mul(scalar: 2) }
        check("permute", [a]) { try $0[0].permute([2, 0, 1]) }
        check("slice", [a]) { try $0[0].slice(axis: 2, start: 1, end: 3) }
        check("concat", [a, c]) { try Tensor.concat([$0[0], $0[1]], axis: 1) }
        check("pad", [a]) { try $0[0].pad([(0, 0), (1, 2), (2, 1)], value: 0.5) }
        check("roll", [a]) { try $0[0].roll(shifts: [1, -3], axes: [1, 2]) }
        let l = rnd([4, 5], seed: 10)
        check("gather", [l]) { try $0[0].gather(labels: [0, 4, 2, 2]) }
        check("expand", [b]) { try $0[0].expand(to: [2, 3, 4]) }
        check("softmax", [a]) { try $0[0].softmax(axis: 1) }
        check("logSoftmax", [a]) { try $0[0].logSoftmax(axis: -1) }
        let img = rnd([2, 3, 5, 5], seed: 12)
        check("avgPool2d", [img]) { try $0[0].avgPool2d(kernel: 3, stride: 2, padding: 1) }
        check("maxPool2d", [img]) { try $0[0].maxPool2d(kernel: 2) }
        let y = rnd([2, 3, 5, 5], seed: 13), scale = rnd([3], seed: 14)
        check("scaledResidual", [img, y, scale]) { try Tensor.scaledResidual($0[0], $0[1], scale: $0[2]) }
        let ycl = rnd([2, 5, 5, 3], seed: 15)
        check("scaledResidual channels-last", [img, ycl, scale]) { try Tensor.scaledResidual($0[0], channelsLast: $0[1], scale: $0[2]) }
        check("poolMixer", [img, y, scale]) { try Tensor.poolMixer($0[0], normed: $0[1], scale: $0[2]) }
    }

    /// A tensor reached through two handles and read by a third op: its node runs once and its
    /// gradient is the sum of the three (d/dx of (2x + x) * ... through exp).
    func testSharedNodeRunsOnce() throws {
        let a = rnd([3, 4], seed: 6)
        check("x + x + exp x", [a]) { x in try x[0].add(x[0]).add(x[0].exp()) }
        check("diamond through permute", [a]) { x in
            let m = x[0].mul(scalar: 2)
            return try m.permute([1, 0]).mul(m.exp().permute([1, 0]))
        }
    }

    /// The graph keeps no reference to the data of an intermediate that only handle-recording ops
    /// read, once the caller drops it; the gradient still reaches the leaf.
    func testGraphDoesNotKeepUnreadIntermediate() throws {
        let w = rnd([4, 6], seed: 20)
        weak var midStorage: Storage?
        let loss: Tensor = try {
            let mid = w.mul(scalar: 3)
            midStorage = mid.storage
            return try mid.permute([1, 0]).add(scalar: 1).reshape([24]).sum()
        }()
        XCTAssertNil(midStorage, "the permute's node keeps its input's data")
        try loss.backward()
        XCTAssertEqual(w.grad?.toArray(), [Float](repeating: 3, count: 24))
    }

    /// An intermediate that outlives the backward of a graph that reached it only through a handle
    /// reads as a leaf afterwards (as it did when the graph held the tensor itself).
    func testSurvivingIntermediateBecomesLeaf() throws {
        let w = rnd([2, 3], seed: 21)
        let mid = w.mul(scalar: 2)
        XCTAssertNotNil(mid.node)
        try mid.permute([1, 0]).sum().backward()
        XCTAssertNil(mid.node, "the released node still reads as present")
        XCTAssertEqual(w.grad?.toArray(), [Float](repeating: 2, count: 6))
        try mid.mul(scalar: 5).sum().backward()
        XCTAssertEqual(mid.grad?.toArray(), [Float](repeating: 5, count: 6))
        XCTAssertEqual(w.grad?.toArray(), [Float](repeating: 2, count: 6), "the old graph ran again")
    }

    /// A handle of a leaf or of a constant is the tensor itself (its gradient lands in `.grad`).
    func testLeavesAreNotWrapped() {
        let w = rnd([2, 2], seed: 22), k = rnd([2, 2], seed: 23, requiresGrad: false)
        XCTAssertTrue(w.gradientHandle === w)
        XCTAssertTrue(k.gradientHandle === k)
        let h = w.mul(scalar: 1).gradientHandle
        XCTAssertEqual(h.count, 0)
        XCTAssertEqual(h.shape, [2, 2])
        XCTAssertTrue(h.requiresGrad)
    }
}

extension GradientHandleTests {
    /// An op recorded before an earlier backward released its input's node: the gradient lands in
    /// that input (a leaf by then), as when the graph held the input itself.
    func testHandleRecordedBeforeAnEarlierBackward() throws {
        let w = rnd([2, 3], seed: 24)
        let mid = w.mul(scalar: 2)
        let late = try mid.permute([1, 0]).mul(scalar: 3)  // records a handle of mid
        try mid.sum().backward()                              // releases mid's node
        XCTAssertEqual(w.grad?.toArray(), [Float](repeating: 2, count: 6))
        try late.sum().backward()
        XCTAssertEqual(mid.grad?.toArray(), [Float](repeating: 3, count: 6))
        XCTAssertEqual(w.grad?.toArray(), [Float](repeating: 2, count: 6))
    }
}
