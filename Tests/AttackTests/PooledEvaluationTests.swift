// The pooled order of an ensemble evaluation (docs/attacks.md, "Pooled order"): member k sees
// only images every earlier member failed to break, in full batches over the whole evaluation;
// the robust set equals the per-batch order's for deterministic members; per-example outcomes,
// AutoAttack's statistics and resume keep working.
import XCTest
import Foundation
@testable import Engine
@testable import Tensor

/// A test member: returns the images unchanged and "breaks" those whose first pixel is above
/// `threshold` (a property of the image, so the outcome does not depend on the batch), and
/// records every batch it was given.
final class MarkingAttack: Attack {
    let label: String
    let threshold: Float
    var batches: [[Float]] = []  // first pixel of each image, per batch
    init(_ label: String, threshold: Float) { self.label = label; self.threshold = threshold }
    var name: String { label }
    var eps: Float { 0 }
    var steps: Int? { nil }
    var description: String { "mark(\(label), \(threshold))" }
    func with(eps: Float) -> Attack { self }
    func with(steps: Int) -> Attack? { nil }
    func attack(_ model: Model, _ x: Tensor, goal: AttackGoal, rng: RNG) throws -> AttackResult {
        let n = x.shape[0], d = n == 0 ? 0 : x.count / n
        let first = (0..<n).map { x.ptr[$0 * d] }
        batches.append(first)
        return AttackResult(adversarial: x.copy(), fooled: first.map { $0 > threshold })
    }
}

final class PooledEvaluationTests: XCTestCase {
    override func setUp() { Evaluation.log = { _ in } }
    override func tearDown() {
        Evaluation.log = { line in FileHandle.standardError.write((line + "\n").data(using: .utf8) ?? Data()) }
    }

    func options(batch: Int, pooled: Bool = true) -> EvalOptions {
        var o = EvalOptions()
        o.batch = batch
        o.sanity = false
        o.progress = false
        o.perExample = true
        o.pooled = pooled
        return o
    }

    func testBrokenImagesNeverReachLaterMembersAndBatchesStayFull() throws {
        let m = TinyMLP(seed: 11)
        let d = try MemoryDataset.forModel(m, n: 100, seed: 8)
        let a = MarkingAttack("first", threshold: 0.5), b = MarkingAttack("second", threshold: 0.9)
        let r = try Evaluation.evaluate(m, d, attacks: [try WorstOf([a, b])], options: options(batch: 16), rng: RNG(seed: 0))
        let seenBySecond = b.batches.flatMap { $0 }
        XCTAssertFalse(seenBySecond.contains { $0 > 0.5 }, "an image broken by the first member reached the second")
        // the first member sees the 80 clean-correct images, the second the survivors, both in full batches
        XCTAssertEqual(a.batches.map(\.count), [16, 16, 16, 16, 16])
        let survivors = seenBySecond.count
        XCTAssertEqual(b.batches.map(\.count), Array(repeating: 16, count: survivors / 16) + (survivors % 16 > 0 ? [survivors % 16] : []))
        XCTAssertGreaterThan(survivors, 16)
        // outcomes: who broke what
        let pe = try XCTUnwrap(r.perExample)
        for i in 0..<100 {
            let p0 = d.images.ptr[i * (d.images.count / 100)]
            let expected = !pe.clean[i] ? "" : p0 > 0.5 ? "first" : p0 > 0.9 ? "second" : ""
            XCTAssertEqual(pe.brokenBy[i], expected, "image \(i)")
            XCTAssertEqual(pe.robust[i], pe.clean[i] && p0 <= 0.5)
        }
        XCTAssertEqual(r.robust, Double(pe.robust.filter { $0 }.count), accuracy: 1e-9)
        // the per-batch order gives the second member the few survivors of each data batch
        let a2 = MarkingAttack("first", threshold: 0.5), b2 = MarkingAttack("second", threshold: 0.9)
        let rb = try Evaluation.evaluate(m, d, attacks: [try WorstOf([a2, b2])], options: options(batch: 16, pooled: false), rng: RNG(seed: 0))
        XCTAssertLessThan(b2.batches.map(\.count).max() ?? 0, 16)
        XCTAssertEqual(rb.perExample?.robust, pe.robust)
        XCTAssertEqual(rb.perExample?.brokenBy, pe.brokenBy)
    }

    func testDeterministicMembersGiveThePerBatchRobustSet() throws {
        let m = TinyMLP(seed: 12)
        let d = try MemoryDataset.forModel(m, n: 120, seed: 9)
        let make = { try WorstOf([try FGSM(eps: 1 / 255), try PGD(eps: 3 / 255, step: 1 / 255, steps: 5, randomStart: false),
                                  try FAB(eps: 6 / 255, steps: 10, targets: 3, restarts: 1)]) }
        let pooled = try Evaluation.evaluate(m, d, attacks: [try make()], options: options(batch: 32), rng: RNG(seed: 1))
        let batched = try Evaluation.evaluate(m, d, attacks: [try make()], options: options(batch: 32, pooled: false), rng: RNG(seed: 1))
        XCTAssertEqual(pooled.perExample?.robust, batched.perExample?.robust)
        XCTAssertEqual(pooled.perExample?.brokenBy, batched.perExample?.brokenBy)
        XCTAssertEqual(pooled.robust, batched.robust)
        XCTAssertEqual(pooled.clean, batched.clean)
        XCTAssertEqual(pooled.cleanTop5, batched.cleanTop5)
        let names = Set(pooled.perExample?.brokenBy ?? [])
        XCTAssertTrue(names.count >= 3, "the fixture should have images broken by several members: \(names)")
    }

    func testAutoAttackPooledStatisticsAndProgress() throws {
        let f = try AttackFixture("autoattack")
        let n = f.labels.count
        let d = MemoryDataset(images: f.x, labels: f.labels, classes: f.model.classes)
        let aa = try AutoAttack(eps: f.float("eps"))
        var lines: [String] = []
        let (w, t) = (Progress.write, Progress.isTerminal)
        Progress.write = { lines.append($0) }
        Progress.isTerminal = false
        defer { Progress.write = w; Progress.isTerminal = t }
        var o = options(batch: 16)
        o.progress = true
        let r = try Evaluation.evaluate(f.model, d, attacks: [aa], options: o, rng: RNG(seed: 3))
        let pe = try XCTUnwrap(r.perExample)
        let clean = pe.clean.filter { $0 }.count
        // member k attacked exactly what survived members 1..k-1 over the whole evaluation
        var left = clean
        for s in aa.stats where s.attacked > 0 {
            XCTAssertEqual(s.attacked, left, s.name)
            left -= s.broken
        }
        XCTAssertEqual(left, pe.robust.filter { $0 }.count)
        for s in aa.stats { XCTAssertEqual(pe.brokenBy.filter { $0 == s.name }.count, s.broken, s.name) }
        XCTAssertEqual(r.perAttack.map(\.name), ["AutoAttack"])
        XCTAssertEqual(r.images, n)
        XCTAssertGreaterThan(r.seconds, 0)
        let text = lines.joined()
        XCTAssertTrue(text.contains("AutoAttack apgd-ce (1/4)"), text)
        XCTAssertTrue(text.contains("robust accuracy after APGD-CE"), text)
        XCTAssertTrue(text.contains("ETA"), text)
    }

    func testInterruptedPooledRunResumesToTheUninterruptedResult() throws {
        let m = TinyMLP(seed: 13)
        let d = try MemoryDataset.forModel(m, n: 64, seed: 10)
        let make = { try WorstOf([try PGD(eps: 2 / 255, step: 1 / 255, steps: 3), try PGD(eps: 4 / 255, step: 1 / 255, steps: 3)]) }
        let full = try Evaluation.evaluate(m, d, attacks: [try make()], options: options(batch: 8), rng: RNG(seed: 42))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adv-pooled-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("state.json").path
        var o = options(batch: 8)
        o.statePath = path
        o.saveEvery = 2
        // 64 loads for the clean pass, then the first member's batches: interrupted in its 6th
        d.loads = 0
        d.failAfter = 64 + 8 * 5 + 3
        XCTAssertThrowsError(try Evaluation.evaluate(m, d, attacks: [try make()], options: o, rng: RNG(seed: 42)))
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        let pooled = saved?["pooled"] as? [String: Any]
        XCTAssertEqual(pooled?["stage"] as? Int, 0)
        XCTAssertEqual(pooled?["done"] as? Int, 32, "saved after the 4th batch of the first member")
        d.failAfter = nil
        d.loads = 0
        let resumed = try Evaluation.evaluate(m, d, attacks: [try make()], options: o, rng: RNG(seed: 999))
        XCTAssertEqual(resumed.perExample?.robust, full.perExample?.robust)
        XCTAssertEqual(resumed.perExample?.brokenBy, full.perExample?.brokenBy)
        XCTAssertEqual(resumed.robust, full.robust)
        XCTAssertEqual(resumed.clean, full.clean)
        XCTAssertEqual(resumed.cleanTop5, full.cleanTop5)
        // a finished state returns at once
        d.loads = 0
        _ = try Evaluation.evaluate(m, d, attacks: [try make()], options: o, rng: RNG(seed: 1))
        XCTAssertEqual(d.loads, 0)
    }
}
