// Adversarial training end to end on `synthetic` data with a small perceptron: robustness rises,
// resuming is bit-identical (stopping at step k, and after Ctrl-C), NaN losses are skipped and
// repeated NaN stops training keeping the last good checkpoint, fp16 loss scaling backs off.
import XCTest
import Foundation
@testable import Engine
@testable import Tensor

final class TrainerTests: XCTestCase {
    var dir: String = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "advtrain-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        RNG.global.reseed(0)
        Interrupt.requested = false
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func data(n: Int = 256) throws -> DataSplits {
        try Datasets.synthetic(n: n, classes: 4, image: 8, channels: 1, seed: 3, testN: 128)
    }

    func recipe(epochs: Int = 2, batch: Int = 32) -> Recipe {
        var r = Recipe()
        r.name = "test"; r.epochs = epochs; r.batch = batch; r.lr = 0.02; r.lrBatch = 32
        r.warmupEpochs = 0.5; r.warmupLR = 1e-4; r.minLR = 1e-4; r.weightDecay = 0.05
        r.labelSmoothing = 0.1
        return r
    }

    func options(_ f: (inout FitOptions) -> Void = { _ in }) -> FitOptions {
        var o = FitOptions()
        o.progress = false
        o.seed = 7
        f(&o)
        return o
    }

    /// Robust accuracy of `m` on the first `n` test images under `attack`.
    func robust(_ m: Model, _ d: Dataset, _ attack: Attack) throws -> Double {
        let n = min(d.count, 128)
        let x = Tensor(zeros: [n, 1, 8, 8])
        var labels: [Int] = []
        for i in 0..<n { labels.append(try d.load(i, into: x.ptr + i * 64)) }
        let adv = try attack.perturb(m, x, labels: labels, rng: RNG(seed: 1))
        m.isTraining = false
        let pred = try Autograd.noGrad { try m.forward(adv).argmax(axis: 1) }
        return Double(zip(pred, labels).filter { $0.0 == $0.1 }.count) / Double(n)
    }

    func testAdversarialTrainingRaisesRobustAccuracy() throws {
        let d = try data(n: 512)
        let m = TinyNet(channels: 1, image: 8, hidden: 32, classes: 4, seed: 1)
        let eval = try PGD(eps: 4 / 255, step: 1 / 255, steps: 5)
        let before = try robust(m, d.test, eval)
        let train = try PGD(eps: 4 / 255, step: 4 / 255, steps: 1)
        let t = try Trainer(model: m, source: ShuffledBatches(dataset: d.train, batch: 32, seed: 1),
                            recipe: recipe(epochs: 4), attack: train, options: options())
        let r = try t.run()
        let after = try robust(m, d.test, eval)
        XCTAssertEqual(r.epochs.count, 4)
        XCTAssertEqual(r.steps, 4 * 16)
        XCTAssertLessThan(r.epochs[3].loss, r.epochs[0].loss)
        print("synthetic PGD-5 robust accuracy: untrained \(before), after PGD-1 training \(after)")
        XCTAssertLessThan(before, 0.45, "untrained baseline should be near chance (0.25)")
        XCTAssertGreaterThan(after, before + 0.3, "robust accuracy \(before) -> \(after)")
    }

    /// Full run vs. stop-at-step-k + resume into a differently initialised model.
    func checkResume(_ tweak: (inout Recipe) -> Void, stopAt k: Int) throws {
        let d = try data()
        var rc = recipe(epochs: 2)
        tweak(&rc)
        let attack = try PGD(eps: 4 / 255, step: 4 / 255, steps: 1)
        func source() throws -> BatchSource { try ShuffledBatches(dataset: d.train, batch: rc.batch, seed: 5) }

        RNG.global.reseed(11)
        let a = TinyNet(channels: 1, image: 8, hidden: 16, classes: 4, seed: 2)
        _ = try Trainer(model: a, source: source(), recipe: rc, attack: attack,
                        options: options { $0.checkpoint = dir + "/a.safetensors" }).run()

        RNG.global.reseed(11)
        let b = TinyNet(channels: 1, image: 8, hidden: 16, classes: 4, seed: 2)
        let ck = dir + "/b.safetensors"
        let first = try Trainer(model: b, source: source(), recipe: rc, attack: attack,
                                options: options { $0.checkpoint = ck; $0.maxSteps = k }).run()
        XCTAssertTrue(first.stoppedEarly)
        XCTAssertEqual(first.steps, k)

        RNG.global.reseed(999)  // a different process state: the checkpoint must restore it
        let c = TinyNet(channels: 1, image: 8, hidden: 16, classes: 4, seed: 77)
        let rest = try Trainer(model: c, source: source(), recipe: rc, attack: attack,
                               options: options { $0.checkpoint = ck; $0.resume = ck }).run()
        XCTAssertFalse(rest.stoppedEarly)
        XCTAssertEqual(rest.steps, 2 * (256 / rc.batch) / rc.accumulation)
        XCTAssertTrue(a.weights() == c.weights(), "resumed weights differ from the uninterrupted run")
    }

    func testResumeMidEpochIsBitIdentical() throws {
        try checkResume({ _ in }, stopAt: 5)
    }

    func testResumeAtEpochBoundaryWithSGDAndAccumulation() throws {
        try checkResume({ r in
            r.optimizer = "sgd"; r.lr = 0.1; r.schedule = "step"; r.decayEpochs = 1; r.accumulation = 2; r.batch = 16
            r.gradClip = 1.0; r.ema = 0.9
        }, stopAt: 8)
    }

    func testMaxStepsReportsTheStepsThatRan() throws {
        // 256 images / batch 32 = 8 steps per epoch. Stopping inside an epoch used to return no epoch
        // at all; stopping on its last step skipped its summary and validation.
        let d = try data()
        let attack = try PGD(eps: 4 / 255, step: 4 / 255, steps: 1)
        var validations = 0
        func run(_ k: Int) throws -> FitResult {
            RNG.global.reseed(3)
            return try Trainer(model: TinyNet(channels: 1, image: 8, hidden: 16, classes: 4, seed: 2),
                               source: ShuffledBatches(dataset: d.train, batch: 32, seed: 5), recipe: recipe(epochs: 2),
                               attack: attack, options: options {
                                   $0.maxSteps = k
                                   $0.validate = { _ in validations += 1; return [("val_clean", 0.5)] }
                               }).run()
        }
        let mid = try run(3)
        XCTAssertEqual(mid.steps, 3)
        XCTAssertTrue(mid.stoppedEarly)
        XCTAssertEqual(mid.epochs.count, 1)
        XCTAssertEqual(mid.epochs[0].complete, false)
        XCTAssertTrue(mid.epochs[0].loss.isFinite && mid.epochs[0].loss > 0)
        XCTAssertNotNil(mid.epochs[0].cleanAccuracy)
        XCTAssertTrue(mid.epochs[0].validation.isEmpty)
        XCTAssertEqual(validations, 0)

        let boundary = try run(8)
        XCTAssertTrue(boundary.stoppedEarly)
        XCTAssertEqual(boundary.epochs.count, 1)
        XCTAssertEqual(boundary.epochs[0].complete, true)
        XCTAssertEqual(boundary.epochs[0].validation.map(\.0), ["val_clean"])
        XCTAssertEqual(validations, 1)
    }

    func testInterruptSavesAndResumesBitIdentical() throws {
        let d = try data()
        let rc = recipe(epochs: 1)
        let attack = try PGD(eps: 4 / 255, step: 4 / 255, steps: 1)
        RNG.global.reseed(4)
        let a = TinyNet(channels: 1, image: 8, hidden: 16, classes: 4, seed: 2)
        _ = try Trainer(model: a, source: ShuffledBatches(dataset: d.train, batch: 32, seed: 5), recipe: rc,
                        attack: attack, options: options()).run()

        RNG.global.reseed(4)
        let b = TinyNet(channels: 1, image: 8, hidden: 16, classes: 4, seed: 2)
        b.onTrainForward = { n in if n == 3 { Interrupt.requested = true } }  // Ctrl-C during step 3
        let ck = dir + "/i.safetensors"
        XCTAssertThrowsError(try Trainer(model: b, source: ShuffledBatches(dataset: d.train, batch: 32, seed: 5), recipe: rc,
                                         attack: attack, options: options { $0.checkpoint = ck }).run()) { e in
            XCTAssertEqual(e as? EngineError, .interrupted)
        }
        XCTAssertFalse(Interrupt.requested)
        XCTAssertTrue(b.weights().allSatisfy { $0.allSatisfy(\.isFinite) })
        let (_, meta) = try Safetensors.read(ck)
        XCTAssertEqual(meta["global_step"], "3", "stops after the step in progress")
        b.onTrainForward = { _ in }
        _ = try Trainer(model: b, source: ShuffledBatches(dataset: d.train, batch: 32, seed: 5), recipe: rc,
                        attack: attack, options: options { $0.resume = ck }).run()
        XCTAssertTrue(a.weights() == b.weights(), "resumed weights differ")
    }

    func testInterruptInsideTheAttackUndoesTheStep() throws {
        // PGD-2 checks for Ctrl-C before its second gradient: the flag raised during the first one
        // interrupts step 4 half-way; the checkpoint must hold the state after step 3 exactly.
        let d = try data()
        let rc = recipe(epochs: 1)
        let attack = try PGD(eps: 4 / 255, step: 2 / 255, steps: 2)
        RNG.global.reseed(4)
        let a = TinyNet(channels: 1, image: 8, hidden: 16, classes: 4, seed: 2)
        _ = try Trainer(model: a, source: ShuffledBatches(dataset: d.train, batch: 32, seed: 5), recipe: rc,
                        attack: attack, options: options()).run()

        RNG.global.reseed(4)
        let b = TinyNet(channels: 1, image: 8, hidden: 16, classes: 4, seed: 2)
        var fired = false
        b.onAttackForward = { _ in   // first PGD gradient of the step after 3 complete steps
            if b.trainCalls == 3 && !fired { fired = true; Interrupt.requested = true }
        }
        let ck = dir + "/mid.safetensors"
        XCTAssertThrowsError(try Trainer(model: b, source: ShuffledBatches(dataset: d.train, batch: 32, seed: 5), recipe: rc,
                                         attack: attack, options: options { $0.checkpoint = ck }).run()) { e in
            XCTAssertEqual(e as? EngineError, .interrupted)
        }
        let meta = try Safetensors.read(ck).metadata
        XCTAssertEqual(meta["global_step"], "3")
        XCTAssertEqual(meta["batch_in_epoch"], "3")
        b.onAttackForward = { _ in }
        _ = try Trainer(model: b, source: ShuffledBatches(dataset: d.train, batch: 32, seed: 5), recipe: rc,
                        attack: attack, options: options { $0.resume = ck }).run()
        XCTAssertTrue(a.weights() == b.weights(), "resumed weights differ")
    }

    func testValidationRunsEachEpochWithoutTouchingTheRun() throws {
        let d = try data()
        let attack = try PGD(eps: 4 / 255, step: 4 / 255, steps: 1)
        let eval = try PGD(eps: 4 / 255, step: 1 / 255, steps: 2)
        RNG.global.reseed(8)
        let a = TinyNet(channels: 1, image: 8, hidden: 16, classes: 4, seed: 2)
        _ = try Trainer(model: a, source: ShuffledBatches(dataset: d.train, batch: 32, seed: 5), recipe: recipe(),
                        attack: attack, options: options()).run()
        RNG.global.reseed(8)
        let b = TinyNet(channels: 1, image: 8, hidden: 16, classes: 4, seed: 2)
        let log = dir + "/val.jsonl"
        let r = try Trainer(model: b, source: ShuffledBatches(dataset: d.train, batch: 32, seed: 5), recipe: recipe(),
                            attack: attack, options: options {
                                $0.log = log
                                $0.validate = { m in try Validation.run(m, d.test, attack: eval, limit: 64, seed: 1) }
                            }).run()
        XCTAssertEqual(r.epochs.count, 2)
        for e in r.epochs {
            XCTAssertEqual(e.validation.map(\.0), ["val_clean", "val_robust"])
            XCTAssertLessThanOrEqual(e.validation[1].1, e.validation[0].1)
        }
        let clean = try Validation.run(b, d.test, attack: nil, limit: 64, seed: 1)
        XCTAssertEqual(clean[0].1, r.epochs[1].validation[0].1, accuracy: 1e-12, "clean accuracy agrees with the evaluation code")
        XCTAssertTrue(a.weights() == b.weights(), "validation must not change training")
        // The log speaks the result's units: epochs from 1, accuracies in percent.
        let objects = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let validation = objects.filter { $0["event"] as? String == "validation" }
        XCTAssertEqual(validation.map { $0["epoch"] as? Int }, [1, 2])
        for (v, e) in zip(validation, r.epochs) {
            XCTAssertEqual(v["val_clean"] as? Double ?? -1, 100 * e.validation[0].1, accuracy: 1e-9)
        }
        let steps = objects.filter { $0["event"] == nil }
        XCTAssertEqual(steps.first?["epoch"] as? Int, 1)
        XCTAssertEqual(steps.first?["step"] as? Int, 1)
        XCTAssertEqual(steps.last?["epoch"] as? Int, 2)
        let lastAdv = try XCTUnwrap(steps.last?["adv"] as? Double)
        XCTAssertEqual(lastAdv, 100 * r.epochs[1].adversarialAccuracy, accuracy: 1e-9, "the last step's running adv accuracy is the epoch's, in percent")
    }

    /// fit reports on the shared progress display: what, images done of the run, speed, ETA and
    /// the current metric (epoch, step, loss, accuracies, lr); silent with progress off.
    func testFitProgressUsesTheSharedDisplay() throws {
        let d = try data()
        var text = ""
        let (w, t, i) = (Progress.write, Progress.isTerminal, Progress.plainInterval)
        Progress.write = { text += $0 }
        Progress.isTerminal = false
        Progress.plainInterval = 0
        defer { Progress.write = w; Progress.isTerminal = t; Progress.plainInterval = i }
        let m = TinyNet(channels: 1, image: 8, hidden: 16, classes: 4, seed: 2)
        _ = try Trainer(model: m, source: ShuffledBatches(dataset: d.train, batch: 32, seed: 5), recipe: recipe(epochs: 1),
                        attack: nil, options: options { $0.progress = true }).run()
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.first?.hasPrefix("fit \(m.name): 32/256 images (12%)") ?? false, text)
        XCTAssertTrue(lines.contains { $0.hasPrefix("fit \(m.name): 256/256 images (100%)") && $0.contains("images/s  ETA 0s  epoch 1/1 step 8/8 loss ") }, text)
        XCTAssertTrue(lines.contains { $0.hasPrefix("epoch 1/1 done: loss ") }, text)
        text = ""
        _ = try Trainer(model: m, source: ShuffledBatches(dataset: d.train, batch: 32, seed: 5), recipe: recipe(epochs: 1),
                        attack: nil, options: options()).run()
        XCTAssertEqual(text, "")
    }

    /// The JSON-lines writer is Foundation's: escapes, non-finite numbers as null, one object a line.
    func testLogLinesAreFoundationJSON() throws {
        let line = JSONLinesLog.line([("s", .string("a\"b\\c\n\u{1}é/")), ("x", .double(.nan)), ("n", .int(3)), ("b", .bool(true)), ("z", .null)])
        XCTAssertEqual(line.last, 0x0A)
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: line.dropLast()) as? [String: Any])
        XCTAssertEqual(o["s"] as? String, "a\"b\\c\n\u{1}é/")
        XCTAssertTrue(o["x"] is NSNull)
        XCTAssertTrue(o["z"] is NSNull)
        XCTAssertEqual(o["n"] as? Int, 3)
        XCTAssertEqual(o["b"] as? Bool, true)
    }

    /// The JSON-lines log and the per-step history use the record's units and numbering: epochs
    /// from 1, accuracies in percent; the last step of an epoch carries that epoch's summary.
    func testLogAndHistoryAgreeWithTheRecord() throws {
        let d = try data()
        let m = TinyNet(channels: 1, image: 8, hidden: 16, classes: 4, seed: 2)
        let log = dir + "/units.jsonl"
        let r = try Trainer(model: m, source: ShuffledBatches(dataset: d.train, batch: 32, seed: 5), recipe: recipe(epochs: 2),
                            attack: try PGD(eps: 4 / 255, step: 4 / 255, steps: 1), options: options { $0.log = log }).run()
        XCTAssertEqual(r.history.count, r.steps)
        XCTAssertEqual(r.history.map(\.globalStep), Array(1...r.steps))
        XCTAssertEqual(r.history.last?.epoch ?? 0, 2, accuracy: 1e-12, "epoch 2 ends at 2.0")
        let steps = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["event"] == nil && $0["global_step"] != nil }
        XCTAssertEqual(steps.count, r.steps)
        for (k, e) in r.epochs.enumerated() {
            let last = steps.last { ($0["epoch"] as? Int) == k + 1 }
            XCTAssertNotNil(last, "the log numbers epochs from 1 like the record")
            XCTAssertEqual(last?["adv"] as? Double ?? -1, 100 * e.adversarialAccuracy, accuracy: 1e-9, "percent, as in the record")
            XCTAssertEqual(last?["clean"] as? Double ?? -1, 100 * (e.cleanAccuracy ?? -1), accuracy: 1e-9)
        }
    }

    /// Clean training accuracy costs an extra forward; by default it is measured on the first step
    /// of each epoch and every 16th step after it, not on every step (issue 20), and every epoch
    /// still reports it.
    func testCleanAccuracyIsSampledByDefault() throws {
        let d = try data()
        func run(_ edit: (inout FitOptions) -> Void) throws -> (FitResult, Int) {
            let m = TinyNet(channels: 1, image: 8, hidden: 16, classes: 4, seed: 2)
            let r = try Trainer(model: m, source: ShuffledBatches(dataset: d.train, batch: 8, seed: 5),
                                recipe: recipe(epochs: 2, batch: 8), attack: nil, options: options(edit)).run()
            return (r, m.cleanCalls)
        }
        XCTAssertEqual(FitOptions().cleanAccuracyEvery, 16)
        let (sampled, calls) = try run { _ in }
        XCTAssertEqual(sampled.steps, 64, "two epochs of 32 steps")
        XCTAssertEqual(calls, 4, "steps 0 and 16 of each epoch")
        XCTAssertTrue(sampled.epochs.allSatisfy { $0.cleanAccuracy != nil })
        XCTAssertNotNil(sampled.history[32].clean, "the first step of an epoch measures it")
        let (every, allCalls) = try run { $0.cleanAccuracyEvery = 1 }
        XCTAssertEqual(allCalls, 64)
        XCTAssertTrue(every.epochs.allSatisfy { $0.cleanAccuracy != nil })
        let (_, none) = try run { $0.cleanAccuracyEvery = 0 }
        XCTAssertEqual(none, 0)
    }

    func testSingleNaNIsSkipped() throws {
        let d = try data()
        let m = TinyNet(channels: 1, image: 8, hidden: 16, classes: 4, seed: 2)
        m.poison = { $0 == 4 }
        let log = dir + "/log.jsonl"
        let r = try Trainer(model: m, source: ShuffledBatches(dataset: d.train, batch: 32, seed: 5), recipe: recipe(epochs: 1),
                            attack: nil, options: options { $0.log = log }).run()
        XCTAssertEqual(r.epochs[0].skippedSteps, 1)
        XCTAssertTrue(m.weights().allSatisfy { $0.allSatisfy(\.isFinite) })
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.contains("\"event\":\"skipped\"") }.count, 1)
        XCTAssertEqual(lines.filter { $0.contains("\"global_step\"") && $0.contains("\"loss\"") }.count, 8, "one line per step")
        for l in lines {   // every line is JSON
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(l.utf8)))
        }
    }

    func testRepeatedNaNStopsAndKeepsLastGoodCheckpoint() throws {
        let d = try data()
        let m = TinyNet(channels: 1, image: 8, hidden: 16, classes: 4, seed: 2)
        m.poison = { $0 > 3 }  // steps 0..2 fine, every later step NaN
        let ck = dir + "/nan.safetensors"
        var snapshot: [[Float]] = []
        m.onTrainForward = { n in if n == 4 { snapshot = m.weights() } }
        XCTAssertThrowsError(try Trainer(model: m, source: ShuffledBatches(dataset: d.train, batch: 32, seed: 5),
                                         recipe: recipe(epochs: 2), attack: nil,
                                         options: options { $0.checkpoint = ck; $0.checkpointEvery = 1; $0.maxBadSteps = 3 }).run()) { e in
            guard case .numeric(let msg) = e as? EngineError else { return XCTFail("expected a numeric error, got \(e)") }
            XCTAssertTrue(msg.contains("3 steps in a row"), msg)
            XCTAssertTrue(msg.contains(ck), msg)
        }
        XCTAssertTrue(m.weights() == snapshot, "skipped steps must not touch the weights")
        let saved = try Safetensors.read(ck).tensors
        XCTAssertEqual(saved["fc1.weight"]?.toArray(), snapshot[0])
        XCTAssertTrue(saved["fc2.bias"]?.toArray().allSatisfy(\.isFinite) ?? false)
    }

    func testLossScalerStateMachine() {
        var s = LossScaler(scale: 1024, growthInterval: 3)
        XCTAssertFalse(s.update(gradientsFinite: false))
        XCTAssertEqual(s.scale, 512)
        XCTAssertTrue(s.update(gradientsFinite: true))
        XCTAssertTrue(s.update(gradientsFinite: true))
        XCTAssertEqual(s.scale, 512)
        XCTAssertTrue(s.update(gradientsFinite: true))
        XCTAssertEqual(s.scale, 1024, "doubles after 3 clean steps")
        XCTAssertEqual(s.cleanSteps, 0)
        XCTAssertTrue(s.update(gradientsFinite: true))
        XCTAssertFalse(s.update(gradientsFinite: false))
        XCTAssertEqual(s.scale, 512)
        XCTAssertEqual(s.cleanSteps, 0)
    }

    func testFP16OverflowSkipsAndBacksOff() throws {
        let d = try data()
        let m = TinyNet(channels: 1, image: 8, hidden: 16, classes: 4, seed: 2)
        var r = recipe(epochs: 4)
        r.precision = "fp16"; r.lossScale = 16_777_216; r.lossScaleGrowth = 1000
        let log = dir + "/fp16.jsonl"
        let t = try Trainer(model: m, source: ShuffledBatches(dataset: d.train, batch: 32, seed: 5), recipe: r,
                            attack: nil, options: options { $0.log = log })
        let before = m.weights()
        let res = try t.run()
        XCTAssertEqual(res.steps, 32)
        let overflow = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").filter { $0.contains("overflow") }
        print("fp16: \(overflow.count) overflows, final scale \(t.position.lossScaler.scale)")
        XCTAssertGreaterThan(overflow.count, 0, "a scale of 2^24 must overflow fp16 gradients")
        XCTAssertLessThan(overflow.count, 32, "the scale must come down until steps succeed")
        XCTAssertLessThan(t.position.lossScaler.scale, 16_777_216)
        XCTAssertTrue(m.weights() != before, "fp16 training never stepped")
        XCTAssertTrue(m.weights().allSatisfy { $0.allSatisfy(\.isFinite) })
        XCTAssertEqual(m.precision, .fp32, "fit restores the model's precision")
    }

    func testBadInputsAreClearErrors() throws {
        let d = try data()
        let m = TinyNet(channels: 1, image: 8, hidden: 16, classes: 4, seed: 2)
        var r = recipe()
        r.repeatedAug = true
        XCTAssertThrowsError(try Trainer(model: m, source: ShuffledBatches(dataset: d.train, batch: 32, seed: 5), recipe: r, attack: nil))
        XCTAssertThrowsError(try Trainer(model: m, source: ShuffledBatches(dataset: d.train, batch: 16, seed: 5), recipe: recipe(), attack: nil))
        XCTAssertThrowsError(try Trainer(model: m, source: ShuffledBatches(dataset: d.train, batch: 32, seed: 5), recipe: recipe(),
                                         attack: nil, options: options { $0.resume = dir + "/missing.safetensors" }).run()) { e in
            XCTAssertTrue("\(e)".contains("missing.safetensors"))
        }
    }
}
