// The AutoAttack builtins from scripts: autoattack/apgd_t/fab/square values, attacks written
// in the language (attack(fn, ...)) inside worst_of/evaluate/sweep/fit, output checks,
// evaluate(adversarial:, per_example:), benchmark's RobustBench record and JSON, and the names
// users type (timm names and keywords, torchattacks' alpha, "Linf", eps above 1).
import XCTest
import Lang
@testable import Engine
@testable import Tensor
@testable import Runtime

final class AutoAttackScriptTests: XCTestCase {
    var logged: [String] = []

    func run(_ code: String, model: TinyMLP = TinyMLP(seed: 3)) throws -> (Interpreter, String, String?) {
        logged = []
        return try ScriptTests.run(code, model: model, log: { [weak self] in self?.logged.append($0) })
    }

    func testAutoAttackBuiltinsPrintTheirNames() throws {
        let (_, out, err) = try run("""
        print(autoattack(eps: 4/255).name, autoattack(eps: 0.5, norm: "L2").name, autoattack(eps: 8/255, version: "plus").name)
        print(apgd_t(eps: 8/255).name, fab(eps: 8/255, targeted: true).name, fab(eps: 8/255).name, square(eps: 8/255).name)
        print(square(eps: 8/255, n_queries: 100, norm: "Linf"))
        print(apgd_t(eps: 8/255, n_iter: 10, n_target_classes: 3).name)
        """)
        XCTAssertNil(err)
        XCTAssertEqual(out, """
        AutoAttack AutoAttack-L2 AutoAttack-plus
        APGD-T FAB-T FAB Square
        square(eps: 8/255, queries: 100, p_init: 0.8, restarts: 1, norm: "linf")
        APGD-T-10-3t

        """)
    }

    func testEvaluateWithAutoAttackGivesARowNamedAutoAttackAndProgressPerMember() throws {
        // The per-member lines go through the shared progress display (issue 23: one display).
        var shown = ""
        let (w, t) = (Progress.write, Progress.isTerminal)
        Progress.write = { shown += $0 }
        Progress.isTerminal = false
        defer { Progress.write = w; Progress.isTerminal = t }
        let (i, out, err) = try run("""
        seed(1)
        r = evaluate(m, d, attack: autoattack(eps: 8/255), batch: 20)
        print(r.attack)
        print(table([r]))
        """)
        XCTAssertNil(err)
        XCTAssertTrue(out.hasPrefix("AutoAttack\n"), out)
        XCTAssertTrue(out.contains("AutoAttack Acc@1"), out)
        // the pooled order (docs/attacks.md): a progress line per member, then its robust accuracy
        XCTAssertTrue(shown.contains("AutoAttack apgd-ce (1/4):") && shown.contains("robust accuracy after APGD-CE"), shown)
        // progress: false silences them with the rest of the display
        shown = ""
        _ = try run("seed(1)\nr = evaluate(m, d, attack: autoattack(eps: 8/255), batch: 20, progress: false)\n")
        XCTAssertFalse(shown.contains("apgd-ce"), shown)
        _ = i
    }

    /// The issue's acceptance case: a PGD written in ten lines of the language goes into
    /// worst_of with builtin attacks, and evaluate/sweep/fit accept it.
    static let myPGD = """
    fn my_pgd(m, x, y, eps = 8/255, steps = 5) {
      step = eps / 4
      adv = clamp(x + (rand(x.shape) * 2 - 1) * eps, min: 0, max: 1)
      for i in range(steps) {
        g = grad(fn(z) { return cross_entropy(m(z), y, reduction: "none").sum() }, adv)
        adv = clamp(x + clamp(adv + step * sign(g) - x, min: -eps, max: eps), min: 0, max: 1)
      }
      return adv.detach()
    }
    """

    func testAPGDWrittenInTheLanguageGoesIntoWorstOf() throws {
        let (i, out, err) = try run(AutoAttackScriptTests.myPGD + """

        mine = attack(my_pgd, name: "MyPGD-5", eps: 8/255, steps: 5)
        print(mine.name, abs(mine.eps - 8/255) < 1e-7, mine.steps)
        w = worst_of(mine, fgsm(eps: 8/255), square(eps: 8/255, queries: 50))
        print(w.name)
        seed(2)
        r = evaluate(m, d, attacks: [mine, w], batch: 20, progress: false)
        print(r.attacks[0].name, r.attacks[1].name, r.robust <= r.attacks[0].robust)
        s = sweep(m, d, attack: mine, eps: [0, 4/255, 8/255], progress: false, sanity: false)
        print(s.robust[0] == s.clean, s.robust[2] <= s.robust[0])
        print(len(r.warnings))
        """)
        XCTAssertNil(err)
        let lines = out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "MyPGD-5 true 5")
        XCTAssertEqual(lines[1], "worst_of(MyPGD-5, FGSM, Square-50)")
        XCTAssertEqual(lines[2], "MyPGD-5 worst_of(MyPGD-5, FGSM, Square-50) true")
        XCTAssertEqual(lines[3], "true true")
        XCTAssertEqual(lines[4], "0", "a correct attack passes the sanity checks")
        _ = i
    }

    func testTheScriptAttackEqualsTheSameBuiltinPGD() throws {
        // my_pgd without random start is torchattacks' PGD: the builtin's images exactly
        let (i, _, err) = try run("""
        fn plain(m, x, y, eps = 8/255, steps = 3) {
          adv = x
          for k in range(steps) {
            g = grad(fn(z) { return cross_entropy(m(z), y, reduction: "none").sum() }, adv)
            adv = clamp(x + clamp(adv + 2/255 * sign(g) - x, min: -eps, max: eps), min: 0, max: 1)
          }
          return adv.detach()
        }
        a = attack(plain, name: "plain", eps: 8/255)(m, x, y)
        b = pgd(eps: 8/255, step: 2/255, steps: 3, random_start: false)(m, x, y)
        """)
        XCTAssertNil(err)
        func t(_ n: String) -> [Float]? {
            if case .object(let o)? = i.globals.values[n], let t = o as? TensorObject { return t.tensor.toArray() }
            return nil
        }
        XCTAssertNotNil(t("a"))
        let a = t("a")!, b = t("b")!
        XCTAssertEqual(zip(a, b).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-6)
    }

    func testAScriptAttackLeavingTheBallIsAnError() throws {
        let (_, _, err) = try run("""
        fn sloppy(m, x, y) { return clamp(x + 0.1 * sign(rand(x.shape) - 0.5), min: 0, max: 1) }
        r = evaluate(m, d, attack: attack(sloppy, name: "Sloppy", eps: 4/255), progress: false, sanity: false)
        """)
        XCTAssertNotNil(err)
        XCTAssertTrue(err!.contains("Sloppy") && err!.contains("largest violation"), err!)
        let (_, _, err2) = try run("""
        fn unclipped(m, x, y, eps = 0.1) { return x + eps }
        a = attack(unclipped, name: "NoClip", eps: 0.1)
        adv = a(m, x, y)
        """)
        XCTAssertTrue(err2?.contains("NoClip") == true && err2!.contains("outside [0, 1]"), err2 ?? "no error")
        let (_, _, err3) = try run("fn f(m, x, y) { return 1 }\nadv = attack(f, name: \"F\", eps: 0.1)(m, x, y)")
        XCTAssertTrue(err3?.contains("must return the adversarial images as a tensor") == true, err3 ?? "no error")
    }

    func testAScriptAttackTrainsWithFit() throws {
        let (_, out, err) = try run(AutoAttackScriptTests.myPGD + """

        seed(3)
        r = fit(m, d, recipe: recipe(epochs: 1, batch: 20, lr: 0.01), attack: attack(my_pgd, name: "MyPGD", eps: 4/255), progress: false)
        print(r.steps)
        """)
        XCTAssertNil(err)
        XCTAssertEqual(out, "2\n")
    }

    func testEvaluatePerExampleAndPrecomputedAdversarialImages() throws {
        let (i, out, err) = try run("""
        seed(4)
        a = pgd(eps: 8/255, step: 2/255, steps: 5)
        r = evaluate(m, d, attacks: [fgsm(eps: 8/255), a], per_example: true, progress: false, sanity: false)
        p = r.per_example
        print(p.clean.sum().item() == r.clean * 40 / 100, p.robust.sum().item() == r.robust * 40 / 100, len(p.broken_by), r.top5 >= r.clean)
        print(join(filter(p.broken_by, fn(b) { return b != "" }), sep: ","))
        """)
        XCTAssertNil(err, err ?? "")
        let lines = out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "true true 40 true")
        XCTAssertTrue(lines.count > 1 && (lines[1].contains("FGSM") || lines[1].contains("PGD-5")), out)
        _ = i
    }

    func testPrecomputedAdversarialImagesAreScoredAndChecked() throws {
        let m = TinyMLP(seed: 3)
        let d = try MemoryDataset.forModel(m, n: 40, seed: 9)
        let adv = try PGD(eps: 8 / 255, step: 2 / 255, steps: 5).perturb(m, d.images, labels: d.labels, rng: RNG(seed: 1))
        let dAdv = MemoryDataset(images: adv, labels: d.labels, classes: d.classes)
        let r = try Evaluation.evaluateAdversarial(m, d, adversarial: dAdv, eps: 8 / 255, norm: .linf, name: "precomputed")
        let pred = AttackOps.predictions(try AttackOps.logits(m, adv))
        let cleanPred = AttackOps.predictions(try AttackOps.logits(m, d.images))
        let expected = (0..<40).filter { pred[$0] == d.labels[$0] && cleanPred[$0] == d.labels[$0] }.count
        XCTAssertEqual(r.robust, Double(expected) * 100 / 40, accuracy: 1e-9)
        XCTAssertEqual(r.clean, 80, accuracy: 1e-9)
        XCTAssertNotNil(r.robustTop5)
        // a smaller ball than the images were made for: an error naming the largest violation
        XCTAssertThrowsError(try Evaluation.evaluateAdversarial(m, d, adversarial: dAdv, eps: 4 / 255, norm: .linf, name: "precomputed")) { e in
            XCTAssertTrue("\(e)".contains("largest violation"), "\(e)")
        }
        // labels out of order
        let shuffled = MemoryDataset(images: adv, labels: d.labels.map { ($0 + 1) % 10 }, classes: d.classes)
        XCTAssertThrowsError(try Evaluation.evaluateAdversarial(m, d, adversarial: shuffled, eps: 8 / 255, norm: .linf, name: "p"))
        // from a script
        let interp = Interpreter(output: { _ in })
        interp.globals.values["m"] = .object(ModelObject(m))
        interp.globals.values["d"] = .object(DatasetObject(d))
        interp.globals.values["adv"] = .object(DatasetObject(dAdv))
        try interp.run(SourceFile(name: "t.adv", text: "r = evaluate(m, d, adversarial: adv, eps: 8/255)"))
        guard case .record(let rec)? = interp.globals.values["r"], case .number(let rob)? = rec["robust"] else { return XCTFail("no record") }
        XCTAssertEqual(rob, r.robust, accuracy: 1e-9)
    }

    func testBenchmarkReturnsAndSavesARobustBenchRecord() throws {
        let path = NSTemporaryDirectory() + "adv-bench-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (_, out, err) = try run("""
        seed(5)
        b = benchmark(m, d, threat: "Linf", eps: 8/255, n: 20, dataset: "synthetic", save: "\(path)", progress: false)
        print(b.threat_model, b.eps, b.n_examples, b.autoattack_acc <= b.clean_acc, b.dataset)
        print(keys(b.robust_accuracy_after))
        """)
        XCTAssertNil(err, err ?? "")
        XCTAssertTrue(out.hasPrefix("Linf 8/255 20 true synthetic\n"), out)
        XCTAssertTrue(out.contains("apgd-ce") && out.contains("square"), out)
        let data = try XCTUnwrap(FileManager.default.contents(atPath: path))
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for k in ["name", "architecture", "dataset", "threat_model", "eps", "clean_acc", "autoattack_acc", "additional_data", "number_forward_passes"] {
            XCTAssertNotNil(obj[k], "missing \(k)")
        }
        XCTAssertEqual(obj["eps"] as? String, "8/255")
        XCTAssertEqual((obj["clean_acc"] as? String)?.split(separator: ".").last?.count, 2)
    }

    func testNamesUsersType() throws {
        let (_, out, err) = try run("""
        a = pgd(eps: 8/255, alpha: 2/255, steps: 3, norm: "Linf")
        print(a)
        print(pgd(eps: 0.5, alpha: 0.1, steps: 2, norm: "L2").name)
        m1 = model("deit_small_patch16_224", img_size: 32, in_chans: 1, num_classes: 10, drop_path_rate: 0.1, pretrained: false)
        print(m1.image, m1.channels, m1.classes)
        m2 = model("convnext_tiny.fb_in1k", img_size: 32, num_classes: 10)
        print(m2.name, m2.classes)
        m3 = model("swin_tiny_patch4_window7_224", img_size: 32, num_classes: 10, depths: [1, 1, 1, 1])
        print(m3.classes)
        """)
        XCTAssertNil(err, err ?? "")
        let lines = out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "pgd(eps: 8/255, step: 2/255, steps: 3, restarts: 1, random_start: true, norm: \"linf\", loss: \"ce\")")
        XCTAssertEqual(lines[1], "PGD-L2-2")
        XCTAssertEqual(lines[2], "32 1 10")
        XCTAssertEqual(lines[4], "10")
        XCTAssertTrue(logged.contains { $0.contains("'.fb_in1k' ignored") }, "\(logged)")
        for (code, expect) in [("pgd(eps: 8, steps: 1)", "did you mean 8/255"),
                               ("autoattack(eps: 4)", "did you mean 4/255"),
                               ("pgd(eps: 8/255, step: 1/255, alpha: 1/255)", "not both"),
                               ("square(eps: 0.1, norm: \"L3\")", "\"linf\" or \"l2\""),
                               ("model(\"resnet18\", pretrained: true)", "load_weights"),
                               ("model(\"resnet18\", classes: 3, num_classes: 3)", "not both")] {
            let (_, _, e) = try run("x1 = " + code)
            XCTAssertTrue(e?.contains(expect) == true, "\(code): \(e ?? "no error")")
        }
        // an L2 radius above 1 is fine
        let (_, _, e2) = try run("a = autoattack(eps: 1.5, norm: \"l2\")")
        XCTAssertNil(e2)
    }
}
