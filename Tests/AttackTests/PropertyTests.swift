// The sanity facts any correct attack satisfies (docs/reference.md section 2), restarts as a
// per-example worst case, batched == sequential restarts, and the model's mode restored.
import XCTest
@testable import Engine
@testable import Tensor

final class PropertyTests: XCTestCase {
    let eps: Float = 8 / 255

    func data(_ m: TinyMLP, n: Int = 64) throws -> (Tensor, [Int]) {
        let d = try MemoryDataset.forModel(m, n: n, seed: 7)
        return (d.images, d.labels)
    }

    func robust(_ a: Attack, _ m: TinyMLP, _ x: Tensor, _ y: [Int], seed: UInt64 = 1) throws -> Int {
        try a.run(m, x, goal: AttackGoal(labels: y), rng: RNG(seed: seed)).fooled.filter { !$0 }.count
    }

    func cleanCorrect(_ m: TinyMLP, _ x: Tensor, _ y: [Int]) throws -> Int {
        let p = AttackOps.predictions(try Autograd.noGrad { try m.forward(x) })
        return zip(p, y).filter { $0 == $1 }.count
    }

    func testEpsZeroGivesCleanImagesAndAccuracyExactly() throws {
        let m = TinyMLP(seed: 3)
        let (x, y) = try data(m)
        let clean = try cleanCorrect(m, x, y)
        let attacks: [Attack] = [try FGSM(eps: 0), try PGD(eps: 0, step: 0, steps: 5), try APGD(eps: 0, steps: 10),
                                 try PGD(eps: 0, step: 0, steps: 3, norm: .l2), try PGD(eps: eps, step: eps / 4, steps: 5).with(eps: 0)]
        for a in attacks {
            let r = try a.run(m, x, goal: AttackGoal(labels: y), rng: RNG(seed: 1))
            XCTAssertEqual(r.adversarial.toArray(), x.toArray(), "\(a.name) moved the images at eps 0")
            XCTAssertEqual(r.fooled.filter { !$0 }.count, clean, a.name)
        }
    }

    func testRobustAccuracyNeverRisesWithStepsRestartsOrEps() throws {
        let m = TinyMLP(seed: 3)
        let (x, y) = try data(m, n: 96)
        var last = Int.max
        for steps in [1, 2, 5, 10, 20] {
            let r = try robust(try PGD(eps: eps, step: eps / 4, steps: steps), m, x, y)
            XCTAssertLessThanOrEqual(r, last, "PGD-\(steps)")
            last = r
        }
        last = Int.max
        for restarts in [1, 2, 4] {
            let r = try robust(try PGD(eps: eps / 2, step: eps / 8, steps: 3, restarts: restarts), m, x, y)
            XCTAssertLessThanOrEqual(r, last, "restarts \(restarts)")
            last = r
        }
        last = Int.max
        for e: Float in [0, 1 / 255, 2 / 255, 4 / 255, 8 / 255, 16 / 255] {
            let r = try robust(try PGD(eps: e, step: e / 4, steps: 10), m, x, y)
            XCTAssertLessThanOrEqual(r, last, "eps \(e)")
            last = r
        }
        last = Int.max
        for steps in [5, 10, 25, 50] {
            let r = try robust(try APGD(eps: eps / 2, steps: steps), m, x, y)
            XCTAssertLessThanOrEqual(r, last, "APGD-\(steps)")
            last = r
        }
    }

    func testLargeEpsDrivesUndefendedModelToZero() throws {
        let m = TinyMLP(seed: 4)
        let (x, y) = try data(m)
        XCTAssertEqual(try robust(try PGD(eps: 1, step: 0.1, steps: 20), m, x, y), 0)
        XCTAssertEqual(try robust(try APGD(eps: 0.5, steps: 20), m, x, y), 0)
    }

    func testRestartsAreThePerExampleWorstCase() throws {
        let m = TinyMLP(seed: 5)
        let (x, y) = try data(m)
        let single = try PGD(eps: eps / 2, step: eps / 8, steps: 2)
        // Three single runs drawing from one RNG reproduce the three restarts' random starts.
        let rng = RNG(seed: 11)
        var anyFooled = [Bool](repeating: false, count: y.count)
        var counts: [Int] = []
        for _ in 0..<3 {
            let r = try single.run(m, x, goal: AttackGoal(labels: y), rng: rng)
            for i in 0..<y.count where r.fooled[i] { anyFooled[i] = true }
            counts.append(r.fooled.filter { !$0 }.count)
        }
        for mode in [RestartMode.sequential, .batched] {
            let multi = try PGD(eps: eps / 2, step: eps / 8, steps: 2, restarts: 3, restartMode: mode)
            let r = try multi.run(m, x, goal: AttackGoal(labels: y), rng: RNG(seed: 11))
            XCTAssertEqual(r.fooled, anyFooled, "\(mode)")
            // never the worst of batch averages: per-example OR is at least as strong as any restart
            XCTAssertLessThanOrEqual(r.fooled.filter { !$0 }.count, counts.min() ?? 0)
        }
        XCTAssertLessThan(anyFooled.filter { !$0 }.count, counts.max() ?? 0, "test needs restarts that disagree")
    }

    func testBatchedAndSequentialRestartsGiveIdenticalResults() throws {
        let m = TinyMLP(seed: 6)
        let (x, y) = try data(m, n: 40)
        for (a, b) in [
            (try PGD(eps: eps, step: eps / 4, steps: 3, restarts: 3, restartMode: .batched) as Attack,
             try PGD(eps: eps, step: eps / 4, steps: 3, restarts: 3, restartMode: .sequential) as Attack),
            (try APGD(eps: eps / 2, steps: 10, restarts: 3, restartMode: .batched),
             try APGD(eps: eps / 2, steps: 10, restarts: 3, restartMode: .sequential)),
            (try PGD(eps: 0.5, step: 0.1, steps: 3, restarts: 2, norm: .l2, restartMode: .batched),
             try PGD(eps: 0.5, step: 0.1, steps: 3, restarts: 2, norm: .l2, restartMode: .sequential)),
        ] {
            m.forwardCalls = 0
            let rb = try a.run(m, x, goal: AttackGoal(labels: y), rng: RNG(seed: 2))
            let batchedCalls = m.forwardCalls
            m.forwardCalls = 0
            let rs = try b.run(m, x, goal: AttackGoal(labels: y), rng: RNG(seed: 2))
            XCTAssertEqual(rb.fooled, rs.fooled, a.name)
            XCTAssertEqual(rb.adversarial.toArray(), rs.adversarial.toArray(), a.name)
            XCTAssertLessThan(batchedCalls, m.forwardCalls, "batched restarts run as one batch")
        }
    }

    func testAutoRestartsBatchTheSurvivorsWithIdenticalResults() throws {
        // auto: the first restart alone, then the other three as one batch over the examples
        // still robust when they fit the limit (TinyMLP computes each example the same at any batch size, so the
        // results are bit-identical).
        let m = TinyMLP(seed: 6)
        let (x, y) = try data(m, n: 40)
        let seq = try PGD(eps: eps, step: eps / 4, steps: 3, restarts: 4, restartMode: .sequential)
        m.forwardCalls = 0
        let rs = try seq.run(m, x, goal: AttackGoal(labels: y), rng: RNG(seed: 3))
        let sequentialCalls = m.forwardCalls
        XCTAssertTrue(rs.fooled.contains(true) && rs.fooled.contains(false), "test needs some examples fooled and some robust")
        for (limit, batches) in [(1000, true), (0, false)] {
            m.restartBatchLimit = limit
            let auto = try PGD(eps: eps, step: eps / 4, steps: 3, restarts: 4, restartMode: .auto)
            m.forwardCalls = 0
            let ra = try auto.run(m, x, goal: AttackGoal(labels: y), rng: RNG(seed: 3))
            XCTAssertEqual(ra.fooled, rs.fooled, "limit \(limit)")
            XCTAssertEqual(ra.adversarial.toArray(), rs.adversarial.toArray(), "limit \(limit)")
            if batches {
                // 4 forward calls for the first restart (3 steps + final logits), 4 for the other three together.
                XCTAssertEqual(m.forwardCalls, 8, "restarts 2-4 run as one batch")
                XCTAssertLessThan(m.forwardCalls, sequentialCalls)
            } else {
                XCTAssertEqual(m.forwardCalls, sequentialCalls, "limit 0: one restart after another")
            }
        }
        // A limit that holds two restarts' survivors but not three: restarts 2-3 as one batch,
        // then restart 4 alone over what is left (survivors recounted after each group).
        let first = try PGD(eps: eps, step: eps / 4, steps: 3, restarts: 1).run(m, x, goal: AttackGoal(labels: y), rng: RNG(seed: 3))
        let survivors = first.fooled.filter { !$0 }.count
        XCTAssertGreaterThan(survivors, 0)
        m.restartBatchLimit = 2 * survivors + 1
        m.forwardCalls = 0
        let grouped = try PGD(eps: eps, step: eps / 4, steps: 3, restarts: 4, restartMode: .auto)
            .run(m, x, goal: AttackGoal(labels: y), rng: RNG(seed: 3))
        XCTAssertEqual(grouped.fooled, rs.fooled, "groups of two")
        XCTAssertEqual(grouped.adversarial.toArray(), rs.adversarial.toArray(), "groups of two")
        XCTAssertEqual(m.forwardCalls, 12, "restart 1, restarts 2-3 together, restart 4")
        // APGD's auto mode batches the survivors the same way.
        m.restartBatchLimit = 1000
        let apgdSeq = try APGD(eps: eps / 2, steps: 10, restarts: 3, restartMode: .sequential)
        let apgdAuto = try APGD(eps: eps / 2, steps: 10, restarts: 3, restartMode: .auto)
        m.forwardCalls = 0
        let qs = try apgdSeq.run(m, x, goal: AttackGoal(labels: y), rng: RNG(seed: 5))
        let seqCalls = m.forwardCalls
        m.forwardCalls = 0
        let qa = try apgdAuto.run(m, x, goal: AttackGoal(labels: y), rng: RNG(seed: 5))
        XCTAssertEqual(qa.fooled, qs.fooled, "apgd auto")
        XCTAssertEqual(qa.adversarial.toArray(), qs.adversarial.toArray(), "apgd auto")
        XCTAssertLessThan(m.forwardCalls, seqCalls, "apgd auto batches restarts 2-3")
    }

    func testRestartBatchLimitIsLargerForTheConvolutionalNetworks() throws {
        // auto batches up to 4 x the default for ResNet, ConvNeXt, PoolFormer and Swin (their
        // per-image cost keeps falling to batch 128), the default for DeiT and other models.
        var o = ModelOptions()
        o.image = 32; o.channels = 3; o.classes = 10
        for (name, factor) in [("resnet50_gelu", 4), ("convnext_atto", 4), ("poolformer_s12", 4), ("deit_tiny", 1), ("swin_tiny", 4)] {
            let m = Models.construct(try Models.configure(name, o), dry: true, rng: RNG(seed: 1))
            XCTAssertEqual(m.restartBatchLimit, factor * RestartBatchLimit.standard, name)
        }
        XCTAssertEqual(TinyMLP(seed: 1).restartBatchLimit, RestartBatchLimit.standard)
    }

    func testEveryRestartModeLeavesTheRNGInTheSameState() throws {
        // Each restart draws its start for the whole batch whatever runs, also after every
        // example is fooled (a large eps fools all in the first restart), so the caller's RNG
        // continues identically in every mode.
        let m = TinyMLP(seed: 8)
        let (x, y) = try data(m, n: 12)
        for e: Float in [eps, 0.9] {
            var states: [UInt64] = []
            for mode in RestartMode.allCases {
                let rng = RNG(seed: 21)
                let r = try PGD(eps: e, step: e / 2, steps: 2, restarts: 5, restartMode: mode)
                    .run(m, x, goal: AttackGoal(labels: y), rng: rng)
                if e > 0.5 { XCTAssertTrue(r.fooled.allSatisfy { $0 }, "eps \(e) should fool every example") }
                states.append(rng.next())
            }
            XCTAssertEqual(Set(states).count, 1, "eps \(e): RNG after the attack differs between modes")
        }
    }

    func testPerturbSkipsTheSuccessCheckOnlyWhereTheImagesDoNotDependOnIt() throws {
        // perturb wants images only: one restart of PGD and FGSM skip the final forward pass
        // (which only decides `fooled`) and return the very images `run` returns; restarts and
        // worst_of still decide success, because their images depend on it.
        let m = TinyMLP(seed: 7)
        let (x, y) = try data(m, n: 24)
        let cases: [(Attack, Int)] = [
            (try PGD(eps: eps, step: eps / 4, steps: 3), 3),
            (try PGD(eps: eps, step: eps / 4, steps: 3, randomStart: false), 3),
            (try FGSM(eps: eps), 1),
            (try PGD(eps: eps, step: eps / 4, steps: 2, restarts: 2, restartMode: .sequential), -1),
            (try WorstOf([try FGSM(eps: eps), try PGD(eps: eps, step: eps / 4, steps: 2)]), -1),
        ]
        for (a, perturbCalls) in cases {
            m.forwardCalls = 0
            let full = try a.run(m, x, goal: AttackGoal(labels: y), rng: RNG(seed: 4))
            let runCalls = m.forwardCalls
            XCTAssertEqual(full.fooled.count, x.shape[0], a.name)
            m.forwardCalls = 0
            let images = try a.perturb(m, x, labels: y, rng: RNG(seed: 4))
            XCTAssertEqual(images.toArray(), full.adversarial.toArray(), a.name)
            if perturbCalls >= 0 {
                XCTAssertEqual(m.forwardCalls, perturbCalls, "\(a.name): no forward pass after the last step")
                XCTAssertEqual(runCalls, perturbCalls + 1, a.name)
            } else {
                XCTAssertEqual(m.forwardCalls, runCalls, "\(a.name): success decided as in run")
            }
            var goal = AttackGoal(labels: y)
            goal.needsOutcome = false
            let r = try a.run(m, x, goal: goal, rng: RNG(seed: 4))
            XCTAssertTrue(perturbCalls < 0 ? r.fooled == full.fooled : r.fooled.isEmpty, a.name)
        }
    }

    func testModeAndParameterFlagsRestoredEvenOnError() throws {
        let m = TinyMLP(seed: 1)
        let (x, y) = try data(m, n: 8)
        m.isTraining = true
        m.w1.requiresGrad = true
        let seen = ModeSpy(m)
        _ = try PGD(eps: eps, step: eps, steps: 1).run(seen, x, goal: AttackGoal(labels: y), rng: RNG(seed: 0))
        XCTAssertEqual(seen.modesSeen, [false, false], "the attack must run in evaluation mode")
        XCTAssertTrue(m.isTraining)
        XCTAssertTrue(m.w1.requiresGrad)
        XCTAssertNil(m.w1.grad, "the attack must not accumulate weight gradients")
        m.failAfter = m.forwardCalls + 1
        XCTAssertThrowsError(try APGD(eps: eps, steps: 5).run(m, x, goal: AttackGoal(labels: y), rng: RNG(seed: 0)))
        XCTAssertTrue(m.isTraining, "training mode restored after an error")
        XCTAssertTrue(m.w1.requiresGrad)
        XCTAssertTrue(Autograd.isEnabled)
        m.failAfter = nil
        // called from inside noGrad (e.g. a training loop): still computes gradients
        let r = try Autograd.noGrad { try PGD(eps: 1, step: 0.1, steps: 10).run(m, x, goal: AttackGoal(labels: y), rng: RNG(seed: 0)) }
        XCTAssertTrue(r.fooled.allSatisfy { $0 })
    }

    func testSoftTargetsOneHotEqualHardLabelsAndTargetedReachesTarget() throws {
        let m = TinyMLP(seed: 2)
        let (x, y) = try data(m, n: 16)
        let onehot = Tensor(zeros: [16, 10])
        for (i, c) in y.enumerated() { onehot.ptr[i * 10 + c] = 1 }
        let a = try PGD(eps: eps, step: eps / 4, steps: 3)
        let hard = try a.run(m, x, goal: AttackGoal(labels: y), rng: RNG(seed: 3))
        let soft = try a.run(m, x, goal: AttackGoal(labels: y, softTargets: onehot), rng: RNG(seed: 3))
        XCTAssertEqual(hard.adversarial.toArray(), soft.adversarial.toArray())
        let t = try PGD(eps: 1, step: 0.05, steps: 30, targetClass: 3)
        let r = try t.run(m, x, goal: AttackGoal(labels: y), rng: RNG(seed: 3))
        let pred = AttackOps.predictions(try Autograd.noGrad { try m.forward(r.adversarial) })
        XCTAssertEqual(pred.filter { $0 == 3 }.count, 16)
        XCTAssertEqual(r.fooled, [Bool](repeating: true, count: 16))
    }

    func testWorstOfAttacksOnlyStillRobustExamples() throws {
        let m = TinyMLP(seed: 8)
        let (x, y) = try data(m, n: 32)
        let a = try PGD(eps: eps / 4, step: eps / 8, steps: 2), b = try APGD(eps: eps, steps: 10)
        let ra = try a.run(m, x, goal: AttackGoal(labels: y), rng: RNG(seed: 9))
        m.record = []
        let w = try WorstOf([a, b]).run(m, x, goal: AttackGoal(labels: y), rng: RNG(seed: 9))
        let sizes = Set(m.record?.map { $0.shape[0] } ?? [])
        let left = ra.fooled.filter { !$0 }.count
        XCTAssertTrue(sizes.contains(left), "the second attack sees only the \(left) examples the first left")
        m.record = nil
        for i in 0..<32 where ra.fooled[i] { XCTAssertTrue(w.fooled[i]) }
        XCTAssertLessThanOrEqual(w.fooled.filter { !$0 }.count, left)
        XCTAssertEqual(try WorstOf([a, b]).name, "worst_of(PGD-2, APGD-CE-10)")
    }

    func testBadArgumentsAreClearErrors() throws {
        XCTAssertThrowsError(try PGD(eps: -1, step: 0.1, steps: 1))
        XCTAssertThrowsError(try APGD(eps: 0.1, steps: 0))
        XCTAssertThrowsError(try PGD(eps: 0.1, step: 0.1, steps: 1, restarts: 0))
        let m = TinyMLP(seed: 1)
        let x = Tensor(shape: [2, 1, 8, 8], repeating: 1.5)
        XCTAssertThrowsError(try FGSM(eps: 0.1).run(m, x, goal: AttackGoal(labels: [0, 1]), rng: RNG(seed: 0))) { e in
            XCTAssertTrue("\(e)".contains("[0, 1]"), "\(e)")
        }
        let ok = Tensor(zeros: [2, 1, 8, 8])
        XCTAssertThrowsError(try FGSM(eps: 0.1).run(m, ok, goal: AttackGoal(labels: [0]), rng: RNG(seed: 0)))
        XCTAssertThrowsError(try FGSM(eps: 0.1).run(m, ok, goal: AttackGoal(labels: [0, 12]), rng: RNG(seed: 0)))
        XCTAssertThrowsError(try FGSM(eps: 0.1).run(m, Tensor(zeros: [2, 3, 8, 8]), goal: AttackGoal(labels: [0, 1]), rng: RNG(seed: 0)))
    }
}

/// Wraps a model and records `isTraining` at each forward call.
final class ModeSpy: Model {
    let inner: TinyMLP
    var modesSeen: [Bool] = []
    init(_ m: TinyMLP) { inner = m }
    var name: String { inner.name }
    var classes: Int { inner.classes }
    var inputShape: (channels: Int, height: Int, width: Int) { inner.inputShape }
    var isTraining: Bool { get { inner.isTraining } set { inner.isTraining = newValue } }
    var precision: Precision { get { inner.precision } set { inner.precision = newValue } }
    var trainedPrecision: Precision? = nil
    func forward(_ x: Tensor) throws -> Tensor { modesSeen.append(inner.isTraining); return try inner.forward(x) }
    func parameters() -> [NamedTensor] { inner.parameters() }
    func buffers() -> [NamedTensor] { [] }
    var restartBatchLimit: Int { inner.restartBatchLimit }
}
