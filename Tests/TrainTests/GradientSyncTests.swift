// The gradient-ready notification of the autograd (`Tensor.backward(gradientReady:)`) and the
// DDP-style buckets of `GradientSync` that start their sums from it during the backward pass
// (docs/distributed.md), checked in one process against a loopback collective.
import Engine
import Tensor
import XCTest

/// A collective of two processes whose other process has exactly this process's numbers: a sum
/// doubles the data (so the average is the data itself). Records each started sum's size and
/// whether a backward pass was running then; a started sum completes after two `test` calls.
final class LoopbackCollective: Collective {
    let rank = 0, size = 2
    var started: [(count: Int, duringBackward: Bool)] = []
    var tests = 0
    var inBackward = false

    func sum(_ data: UnsafeMutablePointer<Float>, count: Int) throws { for i in 0..<count { data[i] *= 2 } }
    func sum(_ data: UnsafeMutablePointer<Double>, count: Int) throws { for i in 0..<count { data[i] *= 2 } }
    func broadcast(_ data: UnsafeMutablePointer<Float>, count: Int) throws {}
    func startSum(_ data: UnsafeMutablePointer<Float>, count: Int) throws -> CollectiveRequest {
        started.append((count, inBackward))
        return Request(self, data, count)
    }

    final class Request: CollectiveRequest {
        let owner: LoopbackCollective, data: UnsafeMutablePointer<Float>, count: Int
        var calls = 0, done = false
        init(_ o: LoopbackCollective, _ d: UnsafeMutablePointer<Float>, _ n: Int) { owner = o; data = d; count = n }
        func test() throws -> Bool {
            owner.tests += 1
            calls += 1
            if calls >= 2 { try wait() }
            return done
        }
        func wait() throws {
            guard !done else { return }
            for i in 0..<count { data[i] *= 2 }
            done = true
        }
    }
}

final class GradientSyncTests: XCTestCase {
    /// A small ConvNeXt (many parameter tensors over several stages) and a loss on random images.
    func modelAndLoss(seed: UInt64 = 3) throws -> (Model, Tensor) {
        RNG.global.reseed(seed)
        var o = ModelOptions(); o.image = 32; o.channels = 1; o.classes = 10; o.params = 1e5
        let m = try Models.make("convnext_tiny", o)
        m.isTraining = true
        let x = Tensor(zeros: [4, 1, 32, 32])
        let rng = RNG(seed: seed)
        for i in 0..<x.count { x.ptr[i] = rng.uniform() }
        let loss = try Tensor.crossEntropy(try m.forward(x), labels: [1, 2, 3, 4])
        return (m, loss)
    }

    /// Each parameter is reported once, and when it is reported its gradient already equals the
    /// gradient it has after the whole backward pass; the last layers come first.
    func testGradientReadyReportsEachParameterOnceWithItsFinalGradient() throws {
        let (m, loss) = try modelAndLoss()
        var snapshots: [ObjectIdentifier: [Float]] = [:], order: [ObjectIdentifier] = []
        try loss.backward(gradientReady: { t in
            XCTAssertNil(snapshots[ObjectIdentifier(t)], "reported twice")
            snapshots[ObjectIdentifier(t)] = t.grad?.toArray() ?? []
            order.append(ObjectIdentifier(t))
        })
        let params = m.parameters()
        XCTAssertEqual(snapshots.count, params.count)
        for p in params {
            XCTAssertEqual(snapshots[ObjectIdentifier(p.tensor)], p.tensor.grad?.toArray(), "\(p.name): not final when reported")
        }
        // The classifier head (registered last) is final long before the stem (registered first).
        let first = try XCTUnwrap(order.firstIndex(of: ObjectIdentifier(params[0].tensor)))
        let last = try XCTUnwrap(order.firstIndex(of: ObjectIdentifier(params[params.count - 1].tensor)))
        XCTAssertLessThan(last, first)
    }

    /// A leaf read at the start and at the end of the graph is reported only after its first
    /// use's gradient arrived (the last closure of the backward that touches it).
    func testALeafUsedTwiceIsReportedAfterItsLastConsumer() throws {
        let w = try Tensor(shape: [3], data: [1, 2, 3]), v = try Tensor(shape: [3], data: [4, 5, 6])
        let x = try Tensor(shape: [3], data: [0.5, -1, 2])
        w.requiresGrad = true; v.requiresGrad = true
        let y = try x.mul(w).relu().mul(v).mul(w).sum()
        var atReport: [Float]? = nil
        try y.backward(gradientReady: { t in if t === w { atReport = t.grad?.toArray() } })
        XCTAssertEqual(atReport, w.grad?.toArray())
        // d/dw of relu(x w) v w: both uses contribute (x w > 0 for entries 0 and 2 only).
        XCTAssertEqual(w.grad?.toArray(), [0.5 * 4 * 1 * 2, 0, 2 * 6 * 3 * 2])
    }

    /// Without a hook, nothing is reported and the gradients are the same.
    func testTheHookDoesNotChangeTheGradients() throws {
        let (m1, l1) = try modelAndLoss()
        try l1.backward()
        let (m2, l2) = try modelAndLoss()
        var calls = 0
        try l2.backward(gradientReady: { _ in calls += 1 })
        XCTAssertEqual(calls, m2.parameters().count)
        for (a, b) in zip(m1.parameters(), m2.parameters()) { XCTAssertEqual(a.tensor.grad?.toArray(), b.tensor.grad?.toArray(), a.name) }
    }

    /// With overlap, buckets start (in order, first one small) while the backward pass runs and
    /// the sums in flight are tested from the hook; the result is the same average as buckets
    /// started after the backward.
    func testBucketsStartDuringTheBackwardInOrderAndGiveTheSameAverage() throws {
        var results: [[[Float]]] = []
        for overlap in [true, false] {
            let (m, loss) = try modelAndLoss()
            let c = LoopbackCollective()
            let sync = GradientSync(params: m.parameters(), collective: c, bucketBytes: 64 << 10, firstBucketBytes: 8 << 10, overlap: overlap)
            XCTAssertGreaterThan(sync.buckets.count, 3)
            sync.begin()
            c.inBackward = true
            try loss.backward(gradientReady: sync.readyHook)
            c.inBackward = false
            let before = m.parameters().map { $0.tensor.grad?.toArray() ?? [] }
            try sync.finish()
            let after = m.parameters().map { $0.tensor.grad?.toArray() ?? [] }
            XCTAssertEqual(before, after, "the loopback average is the gradient itself")
            let sizes = sync.buckets.enumerated().map { b, idx in idx.count + idx.reduce(0) { $0 + m.parameters()[$1].tensor.count } }
            XCTAssertEqual(c.started.map(\.count), sizes, "every bucket started once, in order")
            XCTAssertEqual(sync.buckets[0].first, m.parameters().count - 1, "reverse registration order")
            if overlap {
                XCTAssertEqual(c.started.filter(\.duringBackward).count, sync.buckets.count, "all buckets start during the backward")
                XCTAssertGreaterThan(c.tests, 0, "the hook makes the sums progress")
            } else {
                XCTAssertEqual(c.started.filter(\.duringBackward).count, 0)
                XCTAssertEqual(c.tests, 0)
            }
            results.append(after)
        }
        XCTAssertEqual(results[0], results[1])
    }

    /// A parameter without a gradient (unused in this backward) holds its bucket back until
    /// `finish`, which starts it and leaves the parameter without a gradient (no process had one).
    func testAnUnusedParameterIsStartedByFinish() throws {
        let (m, loss) = try modelAndLoss()
        let params = m.parameters()
        let unused = NamedTensor("unused", Tensor(zeros: [5]))
        unused.tensor.requiresGrad = true
        let c = LoopbackCollective()
        let sync = GradientSync(params: params + [unused], collective: c, bucketBytes: 64 << 10, firstBucketBytes: 8 << 10)
        sync.begin()
        c.inBackward = true
        try loss.backward(gradientReady: sync.readyHook)
        c.inBackward = false
        XCTAssertTrue(c.started.isEmpty, "the first bucket (holding the unused parameter) waits, and every later one after it")
        try sync.finish()
        XCTAssertEqual(c.started.count, sync.buckets.count)
        XCTAssertNil(unused.tensor.grad)
    }
}
