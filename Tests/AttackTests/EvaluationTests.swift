// evaluate / sweep / table: record values, one pass for several attacks, sanity warnings,
// resume from a state file, and the study's table layout.
import XCTest
import Foundation
@testable import Engine
@testable import Tensor

final class EvaluationTests: XCTestCase {
    var logged: [String] = []

    override func setUp() {
        logged = []
        Evaluation.log = { [weak self] line in self?.logged.append(line) }
    }
    override func tearDown() {
        Evaluation.log = { line in FileHandle.standardError.write((line + "\n").data(using: .utf8) ?? Data()) }
    }

    func options(batch: Int = 16, sanity: Bool = false) -> EvalOptions {
        var o = EvalOptions()
        o.batch = batch
        o.sanity = sanity
        return o
    }

    func testRecordValuesAndRelativeDrop() throws {
        let m = TinyMLP(seed: 3)
        let d = try MemoryDataset.forModel(m, n: 50, seed: 1)
        m.isTraining = true
        let r = try Evaluation.evaluate(m, d, attacks: [try PGD(eps: 4 / 255, step: 1 / 255, steps: 5)], options: options(), rng: RNG(seed: 0))
        XCTAssertTrue(m.isTraining, "mode restored")
        XCTAssertEqual(r.images, 50)
        XCTAssertEqual(r.clean, 80, accuracy: 1e-9)  // every 5th label is wrong
        XCTAssertLessThan(r.robust, r.clean)
        XCTAssertEqual(r.drop, (r.robust - r.clean) / r.clean * 100, accuracy: 1e-9)
        XCTAssertEqual(r.perAttack.map(\.name), ["PGD-5"])
        XCTAssertEqual(r.params, 64 * 32 + 32 + 32 * 10 + 10)
        XCTAssertEqual(r.precision, "fp32")
        // eps = 0: robust == clean exactly
        let z = try Evaluation.evaluate(m, d, attacks: [try PGD(eps: 0, step: 0, steps: 5)], options: options(), rng: RNG(seed: 0))
        XCTAssertEqual(z.robust, z.clean)
        XCTAssertEqual(z.drop, 0)
        // limit
        let l = try Evaluation.evaluate(m, d, attacks: [try FGSM(eps: 0)], options: { var o = options(); o.limit = 20; return o }(), rng: RNG(seed: 0))
        XCTAssertEqual(l.images, 20)
    }

    func testSeveralAttacksInOnePassMatchSeparateRuns() throws {
        let m = TinyMLP(seed: 4)
        let d = try MemoryDataset.forModel(m, n: 40, seed: 2)
        let a = try FGSM(eps: 2 / 255), b = try PGD(eps: 2 / 255, step: 1 / 255, steps: 5, randomStart: false)
        let both = try Evaluation.evaluate(m, d, attacks: [a, b], options: options(), rng: RNG(seed: 0))
        let ra = try Evaluation.evaluate(m, d, attacks: [a], options: options(), rng: RNG(seed: 0))
        let rb = try Evaluation.evaluate(m, d, attacks: [b], options: options(), rng: RNG(seed: 0))
        XCTAssertEqual(both.perAttack[0].robust, ra.robust)
        XCTAssertEqual(both.perAttack[1].robust, rb.robust)
        XCTAssertLessThanOrEqual(both.robust, min(ra.robust, rb.robust))
        XCTAssertEqual(both.attack, "FGSM + PGD-5")
    }

    func testSweepIsNonIncreasingInEps() throws {
        let m = TinyMLP(seed: 5)
        let d = try MemoryDataset.forModel(m, n: 48, seed: 3)
        let s = try Evaluation.sweep(m, d, attack: try PGD(eps: 4 / 255, step: 1 / 255, steps: 5), eps: [0, 1 / 255, 2 / 255, 4 / 255, 8 / 255, 1],
                                     options: options(), rng: RNG(seed: 0))
        XCTAssertEqual(s.robust.count, 6)
        XCTAssertEqual(s.robust[0].robust, s.clean)
        for (p, q) in zip(s.robust, s.robust.dropFirst()) { XCTAssertLessThanOrEqual(q.robust, p.robust) }
        XCTAssertEqual(s.robust.last?.robust ?? -1, 0, accuracy: 1e-9)
        XCTAssertTrue(s.warnings.isEmpty, "\(s.warnings)")
    }

    func testSanityChecksPassOnAHealthyModelAndWarnOnAMaskedOne() throws {
        let m = TinyMLP(seed: 6)
        let d = try MemoryDataset.forModel(m, n: 32, seed: 4)
        let ok = try Evaluation.evaluate(m, d, attacks: [try PGD(eps: 4 / 255, step: 1 / 255, steps: 5)], options: options(sanity: true), rng: RNG(seed: 0))
        XCTAssertEqual(ok.warnings, [])
        // A model whose logits are constant: gradients are exactly zero everywhere.
        let masked = TinyMLP(seed: 6)
        let dm = MemoryDataset(images: d.images, labels: [Int](repeating: 0, count: 32), classes: 10)
        masked.masked = true
        let bad = try Evaluation.evaluate(masked, dm, attacks: [try PGD(eps: 4 / 255, step: 1 / 255, steps: 5)], options: options(sanity: true), rng: RNG(seed: 0))
        XCTAssertTrue(bad.warnings.contains { $0.contains("exactly zero") }, "\(bad.warnings)")
        XCTAssertTrue(bad.warnings.contains { $0.contains("unbounded") }, "\(bad.warnings)")
        XCTAssertTrue(logged.contains { $0.hasPrefix("WARNING: sanity check failed") })
        // a broken attack whose robust accuracy rises with steps (it undoes its progress)
        let broken = try Evaluation.evaluate(m, d, attacks: [UndoingAttack()], options: options(sanity: true), rng: RNG(seed: 0))
        XCTAssertTrue(broken.warnings.contains { $0.contains("rose") }, "\(broken.warnings)")
        XCTAssertTrue(broken.warnings.contains { $0.contains("eps = 0") }, "\(broken.warnings)")
    }

    func testResumeFromStateFileGivesTheUninterruptedResult() throws {
        let m = TinyMLP(seed: 7)
        let d = try MemoryDataset.forModel(m, n: 64, seed: 5)
        let attack = try PGD(eps: 4 / 255, step: 1 / 255, steps: 3)
        let full = try Evaluation.evaluate(m, d, attacks: [attack], options: options(batch: 8), rng: RNG(seed: 42))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adv-eval-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("state.json").path
        var o = options(batch: 8)
        o.statePath = path
        o.saveEvery = 2
        d.failAfter = 8 * 5 + 3  // interrupted inside the 6th batch; state saved after batch 4
        d.loads = 0
        XCTAssertThrowsError(try Evaluation.evaluate(m, d, attacks: [attack], options: o, rng: RNG(seed: 42)))
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        XCTAssertEqual(saved?["next"] as? Int, 32)
        d.failAfter = nil
        d.loads = 0
        let resumed = try Evaluation.evaluate(m, d, attacks: [attack], options: o, rng: RNG(seed: 999))
        XCTAssertEqual(d.loads, 32, "only the remaining images are loaded")
        XCTAssertEqual(resumed.clean, full.clean)
        XCTAssertEqual(resumed.robust, full.robust)
        XCTAssertTrue(logged.contains { $0.contains("resuming") })
        // a finished state returns at once; another evaluation refuses the file
        d.loads = 0
        _ = try Evaluation.evaluate(m, d, attacks: [attack], options: o, rng: RNG(seed: 1))
        XCTAssertEqual(d.loads, 0)
        XCTAssertThrowsError(try Evaluation.evaluate(m, d, attacks: [try FGSM(eps: 0.1)], options: o, rng: RNG(seed: 1))) { e in
            XCTAssertTrue("\(e)".contains("belongs to another evaluation"))
        }
    }

    /// Captures what the shared progress display writes, as a terminal (`tty`) or not.
    func captureProgress(tty: Bool, _ body: () throws -> Void) rethrows -> String {
        var text = ""
        let (w, t, i) = (Progress.write, Progress.isTerminal, Progress.plainInterval)
        Progress.write = { text += $0 }
        Progress.isTerminal = tty
        Progress.plainInterval = 1000
        defer { Progress.write = w; Progress.isTerminal = t; Progress.plainInterval = i }
        try body()
        return text
    }

    /// Not a terminal: plain lines (the first batch, then every few seconds, and the end) with
    /// what, how far, speed, ETA and the running accuracies.
    func testProgressLines() throws {
        let m = TinyMLP(seed: 3)
        let d = try MemoryDataset.forModel(m, n: 20, seed: 1)
        let text = try captureProgress(tty: false) {
            _ = try Evaluation.evaluate(m, d, attacks: [try FGSM(eps: 1 / 255)], options: options(batch: 8), rng: RNG(seed: 0))
        }
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2, "the first batch and the end; the interval holds back the middle one\n" + text)
        let last = lines.last ?? ""
        XCTAssertTrue(last.hasPrefix("evaluate \(m.name): 20/20 images (100%)") && last.contains("images/s")
                      && last.contains("clean 80.00%") && last.contains("FGSM") && last.contains("ETA"), last)
        XCTAssertFalse(text.contains("\r"))
    }

    /// On a terminal the line is rewritten in place (carriage returns, one final newline), not a
    /// new line per batch; progress: false and ADV_PROGRESS=0 silence it.
    func testProgressInPlaceAndSilenced() throws {
        let m = TinyMLP(seed: 3)
        let d = try MemoryDataset.forModel(m, n: 20, seed: 1)
        let tty = try captureProgress(tty: true) {
            var o = options(batch: 4)
            o.sanity = false
            _ = try Evaluation.evaluate(m, d, attacks: [try FGSM(eps: 1 / 255)], options: o, rng: RNG(seed: 0))
        }
        XCTAssertTrue(tty.hasPrefix("\r"), tty)
        XCTAssertEqual(tty.filter { $0 == "\n" }.count, 1, tty)
        XCTAssertTrue(tty.contains("20/20 images (100%)"), tty)
        let off = try captureProgress(tty: false) {
            var o = options(batch: 8)
            o.progress = false
            _ = try Evaluation.evaluate(m, d, attacks: [try FGSM(eps: 1 / 255)], options: o, rng: RNG(seed: 0))
        }
        XCTAssertEqual(off, "")
        setenv("ADV_PROGRESS", "0", 1)
        defer { unsetenv("ADV_PROGRESS") }
        let env = try captureProgress(tty: false) {
            _ = try Evaluation.evaluate(m, d, attacks: [try FGSM(eps: 1 / 255)], options: options(batch: 8), rng: RNG(seed: 0))
        }
        XCTAssertEqual(env, "")
    }

    /// sweep labels each point (and its progress column) with its eps, not the attack's name alone.
    func testSweepLabelsPointsWithEps() throws {
        let m = TinyMLP(seed: 3)
        let d = try MemoryDataset.forModel(m, n: 20, seed: 1)
        var r: (clean: Double, robust: [(eps: Float, robust: Double, label: String)], warnings: [String])?
        let text = try captureProgress(tty: false) {
            r = try Evaluation.sweep(m, d, attack: try PGD(eps: 4 / 255, step: 1 / 255, steps: 2), eps: [0, 2 / 255, 8 / 255],
                                     options: options(batch: 8), rng: RNG(seed: 0))
        }
        XCTAssertEqual(r?.robust.map(\.label), ["PGD-2 eps 0", "PGD-2 eps 2/255", "PGD-2 eps 8/255"])
        XCTAssertTrue(text.contains("PGD-2 eps 2/255 "), text)
    }

    func testTableHasTheStudyColumnsAligned() {
        let rows = [
            ResultsTable.Row(model: "convnext-tiny", precision: "bf16", params: 28_589_128, clean: 69.98, robust: [("PGD-5", 49.95)], drop: -28.6),
            ResultsTable.Row(model: "resnet50-gelu", precision: "fp32", params: 1_000_000, clean: 67.38, robust: [("PGD-5", 44.01)], drop: -34.7),
        ]
        let t = ResultsTable.format(rows)
        let lines = t.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(lines[0], "| Model         | Train Prec | Num Para | Clean Acc@1 | PGD-5 Acc@1 | Relative Drop |")
        XCTAssertEqual(lines[2], "| convnext-tiny | bf16       | 29M      | 69.98%      | 49.95%      | -29%          |")
        XCTAssertEqual(lines[3], "| resnet50-gelu | fp32       | 1.0M     | 67.38%      | 44.01%      | -35%          |")
        XCTAssertEqual(Set(lines.map(\.count)).count, 1, "aligned")
        let apgd = ResultsTable.format([ResultsTable.Row(model: "m", precision: "fp32", params: nil, clean: 50, robust: [("APGD-CE-100", 20)], drop: -60)])
        XCTAssertTrue(apgd.contains("APGD-CE-100 Acc@1"))
        XCTAssertEqual(ResultsTable.params(30_862_760), "31M")
        XCTAssertEqual(ResultsTable.params(2_345_678), "2.3M")
        XCTAssertEqual(ResultsTable.params(250_000), "250K")
    }
}

/// A deliberately broken attack for the sanity checks: moves images by 0.3 regardless of eps
/// being 0 (breaks "eps = 0 is clean": at eps 0 the output check rejects it, which the check
/// reports) and with more steps moves them back (robust accuracy rises).
final class UndoingAttack: Attack {
    var eps: Float = 0.3
    var stepCount = 1
    var name: String { "UNDO-\(stepCount)" }
    var steps: Int? { stepCount }
    var description: String { name }
    func with(eps: Float) -> Attack { let u = UndoingAttack(); u.eps = eps; u.stepCount = stepCount; return u }
    func with(steps: Int) -> Attack? { let u = UndoingAttack(); u.eps = eps; u.stepCount = steps; return u }
    func attack(_ model: Model, _ x: Tensor, goal: AttackGoal, rng: RNG) throws -> AttackResult {
        let adv = x.copy()
        // moves by 0.3 whatever eps is: inside the ball at eps 0.3, outside it at eps 0
        if stepCount == 1 { for k in 0..<adv.count { adv.ptr[k] = adv.ptr[k] > 0.5 ? adv.ptr[k] - 0.3 : adv.ptr[k] + 0.3 } }
        let pred = AttackOps.predictions(try AttackOps.logits(model, adv))
        return AttackResult(adversarial: adv, fooled: (0..<pred.count).map { goal.isSuccess($0, prediction: pred[$0]) })
    }
}
