// The fixes that make the small-scale study trustworthy (issue 17): recipe scaling by one rule
// (warmup start scales with the peak; the augmentation warmup is compressed like the LR warmup
// and printed as the run does it), "Train Prec" remembered by the model, fit(resume:) refusing a
// different experiment and returning a finished run's final metrics, token-grid parity, and
// weights independent of the thread count.
import XCTest
import Foundation
@testable import Engine
@testable import Tensor

final class StudyFixesTests: XCTestCase {
    var dir: String = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "advstudy-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        RNG.global.reseed(0)
        Interrupt.requested = false
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// The study's ResNet50-GELU column (stdlib/recipes.adv) as an engine recipe.
    func resnetColumn() -> Recipe {
        var r = Recipe()
        r.name = "resnet50-gelu"; r.epochs = 100; r.batch = 512; r.optimizer = "sgd"; r.lr = 0.4; r.lrBatch = 1024
        r.schedule = "step"; r.decayEpochs = 30; r.decayRate = 0.1; r.minLR = 1e-5; r.warmupLR = 0.1; r.warmupEpochs = 5
        return r
    }

    /// The study's ConvNeXt column: 300 epochs at 4096, the augmentation warmup on.
    func convnextColumn() throws -> Recipe {
        var r = Recipe()
        r.name = "convnext-tiny"; r.epochs = 300; r.batch = 4096; r.lr = 1e-3; r.minLR = 2.5e-7
        r.warmupLR = 0; r.warmupEpochs = 10; r.precision = "bf16"; r.dropPath = 0.1
        r.randAugment = try RandAugmentSpec(parsing: "rand-m9-mstd0.5-inc1"); r.augWarmup = true
        r.mixup = 0.8; r.cutmix = 1.0; r.mixProb = 1
        return r
    }

    // MARK: 2. Recipe scaling by one rule

    func testScaledWarmupNeverRunsDownward() throws {
        let r = try resnetColumn().scaled(epochs: 3, batch: 128)
        XCTAssertEqual(r.scaledLR, 0.05, accuracy: 1e-12)           // 0.4 * 128 / 1024
        XCTAssertEqual(r.warmupLR, 0.025, accuracy: 1e-12)          // 0.1 * 128 / 512: below the peak
        XCTAssertEqual(r.minLR, 1e-5 * 128 / 512, accuracy: 1e-15)
        XCTAssertEqual(r.warmupEpochs, 0.15, accuracy: 1e-12)       // 5 of 100 epochs -> 0.15 of 3
        XCTAssertEqual(r.decayEpochs, 0.9, accuracy: 1e-12)
        let s = try r.lrSchedule(stepsPerEpoch: 100)
        var last = -1.0
        for i in 0..<s.warmupSteps { XCTAssertGreaterThanOrEqual(s.lr(at: i), last); last = s.lr(at: i) }
        XCTAssertLessThan(s.lr(at: 0), s.lr(at: s.warmupSteps - 1))
    }

    func testAugmentationWarmupIsCompressedLikeTheLRWarmup() throws {
        let r = try convnextColumn().scaled(epochs: 3, batch: 128)
        XCTAssertEqual(r.augWarmupScale, 0.01, accuracy: 1e-15)
        XCTAssertTrue(r.augmentationVariesWithin(epoch: 0))
        XCTAssertFalse(r.augmentationVariesWithin(epoch: 1))
        // Table epoch e happens at run position e * 0.01.
        XCTAssertEqual(r.augmentation(position: 0).randAugmentMagnitude, 1)
        XCTAssertEqual(r.augmentation(position: 0.045).randAugmentMagnitude, 4)
        XCTAssertEqual(r.augmentation(position: 0.095).randAugmentMagnitude, 9)
        XCTAssertEqual(r.augmentation(position: 0.055).cutmixAlpha, 0)
        XCTAssertEqual(r.augmentation(position: 0.065).cutmixAlpha, 1)
        XCTAssertEqual(r.augmentation(position: 0.025).mixProb, 0.7, accuracy: 1e-12)
        // A 3-epoch run's second epoch is past every stage (before: m2, no cutmix).
        let e1 = r.augmentation(epoch: 1)
        XCTAssertEqual(e1.randAugmentMagnitude, 9)
        XCTAssertEqual(e1.cutmixAlpha, 1)
        XCTAssertEqual(e1.switchProb, 0.5)
        // The unscaled column keeps the table's epochs.
        let full = try convnextColumn()
        XCTAssertEqual(full.augmentation(epoch: 2).randAugmentMagnitude, 2)
        XCTAssertEqual(full.augmentation(epoch: 6).cutmixAlpha, 1)
    }

    func testPrintedScaledRecipeSaysWhatTheRunDoes() throws {
        let rows = Dictionary(try convnextColumn().scaled(epochs: 3, batch: 128).tableRows, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(rows["rand aug"], "m1-mstd0.5-->m9-mstd0.5 by 0.09e")
        XCTAssertEqual(rows["cutmix alpha"], "0-1.0 at 0.06e")
        XCTAssertEqual(rows["mixup/cutmix prob"], "0.5-1 first 0-0.05e")
        XCTAssertEqual(rows["warmup"], "initlr=0, 0.1e linear")
        XCTAssertEqual(rows["peak lr (this batch)"], "1.25E-04")
        let table = Dictionary(try convnextColumn().tableRows, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(table["cutmix alpha"], "0-1.0 at 6th e")
        let res = Dictionary(try resnetColumn().scaled(epochs: 3, batch: 128).tableRows, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(res["warmup"], "initlr=0.025, 0.15e linear")
    }

    /// The pipeline builds each batch with its own settings when the warmup changes inside an epoch.
    func testPipelineAppliesPerBatchSettings() throws {
        let d = try Datasets.synthetic(n: 64, classes: 4, image: 8, channels: 1, seed: 3, testN: 8)
        let p = try TrainPipeline(dataset: d.train, batch: 8, seed: 1, size: 8, prefetch: 0)
        var r = try convnextColumn().scaled(epochs: 1, batch: 8)
        r.augWarmupScale = 0.125 / 10  // the whole warmup in the first batch and a quarter
        try p.configure(perBatch: { i in r.augmentation(position: Double(i) / 8) })
        let batches = try p.stream(epoch: 0)
        var mixed: [Bool] = []
        while let b = try batches.next() { mixed.append(b.targets != nil) }
        XCTAssertEqual(mixed.count, 8)
        // A plain source refuses settings that change inside the epoch.
        let plain = try ShuffledBatches(dataset: d.train, batch: 8, seed: 1)
        XCTAssertThrowsError(try plain.configure(perBatch: { i in r.augmentation(position: Double(i) / 8) }))
    }

    // MARK: 3. Train Prec

    func testEvaluationIsLabelledWithTheTrainingPrecision() throws {
        let d = try Datasets.synthetic(n: 64, classes: 4, image: 8, channels: 1, seed: 3, testN: 16)
        let m = TinyNet(channels: 1, image: 8, hidden: 8, classes: 4, seed: 1)
        var r = Recipe()
        r.epochs = 1; r.batch = 16; r.precision = "bf16"
        var o = FitOptions(); o.progress = false
        _ = try Trainer(model: m, source: ShuffledBatches(dataset: d.train, batch: 16, seed: 1), recipe: r, attack: nil, options: o).run()
        XCTAssertEqual(m.precision, .fp32, "fit restores the model's precision")
        var eo = EvalOptions(); eo.progress = false; eo.sanity = false
        let rec = try Evaluation.evaluate(m, d.test, attacks: [try PGD(eps: 4 / 255, step: 1 / 255, steps: 1)], options: eo, rng: RNG(seed: 1))
        XCTAssertEqual(rec.precision, "bf16")
        eo.precisionLabel = "full"
        XCTAssertEqual(try Evaluation.evaluate(m, d.test, attacks: [try PGD(eps: 4 / 255, step: 1 / 255, steps: 1)], options: eo, rng: RNG(seed: 1)).precision, "full")
    }

    // MARK: 4. fit(resume:) checks the experiment

    func trainer(_ m: Model, _ d: DataSplits, recipe r: Recipe, attack: Attack?, batchSeed: UInt64 = 1, crop: CropMode = .none,
                 _ f: (inout FitOptions) -> Void) throws -> Trainer {
        var o = FitOptions(); o.progress = false; o.seed = 7
        f(&o)
        let src = try TrainPipeline(dataset: d.train, batch: r.batch, seed: batchSeed, size: 8, crop: crop, prefetch: 0)
        return try Trainer(model: m, source: src, recipe: r, attack: attack, options: o)
    }

    func testResumeRefusesADifferentExperimentNamingTheFirstDifference() throws {
        let d = try Datasets.synthetic(n: 64, classes: 4, image: 8, channels: 1, seed: 3, testN: 8)
        var r = Recipe(); r.epochs = 2; r.batch = 16; r.lr = 0.01
        let attack = try PGD(eps: 4 / 255, step: 4 / 255, steps: 1)
        let ck = dir + "/ck.safetensors"
        let m = TinyNet(channels: 1, image: 8, hidden: 8, classes: 4, seed: 1)
        _ = try trainer(m, d, recipe: r, attack: attack) { $0.checkpoint = ck; $0.maxSteps = 2 }.run()

        func refusal(_ rr: Recipe, _ a: Attack?, data: DataSplits? = nil, crop: CropMode = .none) -> String? {
            let m2 = TinyNet(channels: 1, image: 8, hidden: 8, classes: 4, seed: 1)
            do {
                _ = try trainer(m2, data ?? d, recipe: rr, attack: a, crop: crop) { $0.checkpoint = dir + "/x.safetensors"; $0.resume = ck }.run()
                return nil
            } catch { return "\(error)" }
        }
        var lr5 = r; lr5.lr = 0.05
        XCTAssertTrue(refusal(lr5, attack)?.contains("recipe init lr (bs1024) was 0.01, this run has 0.05") ?? false, refusal(lr5, attack) ?? "accepted")
        XCTAssertTrue(refusal(r, try PGD(eps: 8 / 255, step: 4 / 255, steps: 1))?.contains("attack was pgd(eps: 4/255") ?? false)
        let twice = try Datasets.synthetic(n: 128, classes: 4, image: 8, channels: 1, seed: 3, testN: 8)
        XCTAssertTrue(refusal(r, attack, data: twice)?.contains("data set was") ?? false, refusal(r, attack, data: twice) ?? "accepted")
        XCTAssertTrue(refusal(r, attack, crop: .pad(4))?.contains("data crop was none") ?? false)
        var b8 = r; b8.batch = 8
        XCTAssertNotNil(refusal(b8, attack))
        // force: true resumes anyway.
        let m3 = TinyNet(channels: 1, image: 8, hidden: 8, classes: 4, seed: 1)
        XCTAssertNoThrow(try trainer(m3, d, recipe: lr5, attack: attack) { $0.resume = ck; $0.force = true }.run())
        // The same experiment resumes.
        XCTAssertNil(refusal(r, attack))
    }

    func testResumingAFinishedRunReturnsItsFinalMetrics() throws {
        let d = try Datasets.synthetic(n: 64, classes: 4, image: 8, channels: 1, seed: 3, testN: 8)
        var r = Recipe(); r.epochs = 1; r.batch = 16; r.lr = 0.01
        let ck = dir + "/done.safetensors"
        let m = TinyNet(channels: 1, image: 8, hidden: 8, classes: 4, seed: 1)
        let first = try trainer(m, d, recipe: r, attack: nil) { $0.checkpoint = ck }.run()
        let again = try trainer(m, d, recipe: r, attack: nil) { $0.checkpoint = ck; $0.resume = ck }.run()
        let a = try XCTUnwrap(first.epochs.last), b = try XCTUnwrap(again.epochs.last, "a finished run resumed returns its final epoch")
        XCTAssertEqual(a.loss, b.loss)
        XCTAssertEqual(a.cleanAccuracy, b.cleanAccuracy)
        XCTAssertEqual(a.adversarialAccuracy, b.adversarialAccuracy)
        XCTAssertEqual(again.steps, first.steps)
    }

    // MARK: 1. Token-grid parity

    func testGridParityGivesEveryModelAnEightByEightGridAt32() throws {
        var o = ModelOptions(); o.image = 32; o.channels = 1; o.classes = 10; o.parity = true
        for name in ["convnext_tiny", "swin_tiny", "poolformer_s36", "deit_small", "resnet50_gelu"] {
            let c = try Models.configure(name, o)
            XCTAssertEqual(c.stemGridSide, 8, name)
        }
        XCTAssertEqual(try Models.configure("deit_small", o).patch, 4)
        XCTAssertEqual(try Models.configure("swin_tiny", o).window, 4)
        // At 224 parity is the study's own configuration.
        var full = ModelOptions(); full.parity = true
        XCTAssertEqual(try Models.configure("deit_small", full).patch, 16)
        XCTAssertEqual(try Models.configure("swin_tiny", full).window, 7)
        // Without it DeiT sees 2x2 tokens at 32 and a warning says so.
        var plain = o; plain.parity = false
        let deit = try Models.configure("deit_small", plain)
        XCTAssertEqual(deit.stemGridSide, 2)
        XCTAssertNotNil(Models.warnSmallGrid(deit))
        XCTAssertTrue(OnceWarnings.warned("grid deit_small 32 16"))
        XCTAssertNil(Models.warnSmallGrid(try Models.configure("deit_small", o)))
    }

    func testGridParityKeepsTheBudgetAligned() throws {
        var o = ModelOptions(); o.image = 32; o.channels = 1; o.classes = 10; o.parity = true; o.params = 5e5
        for name in ["convnext_tiny", "swin_tiny", "poolformer_s36", "deit_small", "resnet50_gelu"] {
            let n = try Models.countParams(try Models.configure(name, o))
            XCTAssertEqual(Double(n), 5e5, accuracy: 5e5 * Models.budgetTolerance, name)
        }
    }

    // MARK: 5. Thread-count independence

    /// A few adversarial training steps of every architecture give bit-identical weights with 1,
    /// 2 and 3 threads (bf16 for the four transformer-recipe models, fp32 for ResNet, as the study).
    func testWeightsDoNotDependOnTheThreadCount() throws {
        let d = try Datasets.synthetic(n: 96, classes: 10, image: 32, channels: 1, seed: 3, testN: 8)
        for (name, prec) in [("convnext_tiny", "bf16"), ("swin_tiny", "bf16"), ("poolformer_s36", "bf16"),
                             ("deit_small", "bf16"), ("resnet50_gelu", "fp32"), ("deit_small", "fp32")] {
            var weights: [[[Float]]] = []
            for threads in [1, 2, 3] { try Backend.with({ $0.threads = threads }) {
                RNG.global.reseed(5)
                var o = ModelOptions(); o.image = 32; o.channels = 1; o.classes = 10; o.parity = true; o.params = 2e5; o.dropPath = 0.1
                let m = try Models.make(name, o)
                var r = Recipe(); r.epochs = 1; r.batch = 32; r.lr = 2e-3; r.lrBatch = 32; r.precision = prec
                r.optimizer = name.hasPrefix("resnet") ? "sgd" : "adamw"; r.weightDecay = 0.05; r.labelSmoothing = 0.1
                var fo = FitOptions(); fo.progress = false; fo.seed = 3
                let src = try TrainPipeline(dataset: d.train, batch: 32, seed: 1, size: 32, prefetch: 0)
                _ = try Trainer(model: m, source: src, recipe: r, attack: try PGD(eps: 4 / 255, step: 4 / 255, steps: 1), options: fo).run()
                weights.append(m.parameters().map { $0.tensor.toArray() })
            } }
            for t in 1..<weights.count {
                let firstDiff = weights[0].indices.first { weights[0][$0] != weights[t][$0] }
                XCTAssertNil(firstDiff, "\(name) \(prec): parameter \(firstDiff ?? -1) differs between 1 and \(t + 1) threads")
            }
        }
    }
}
