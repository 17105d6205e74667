// The attack builtins from scripts: attack values (printing, calling), evaluate/sweep/table
// records, and stdlib/attacks.adv giving the builtins' results where they overlap.
import XCTest
import Lang
@testable import Engine
@testable import Tensor
@testable import Runtime

final class ScriptTests: XCTestCase {
    /// Runs `code` with `m` (a TinyMLP), `x` (16 images) and `y` (their labels) bound; returns
    /// the interpreter (for its globals), what was printed, and the error text.
    func run(_ code: String, model: TinyMLP = TinyMLP(seed: 3)) throws -> (Interpreter, String, String?) {
        try ScriptTests.run(code, model: model, log: { _ in })
    }

    /// The harness shared with AutoAttackScriptTests; `log` receives the engine's progress lines.
    static func run(_ code: String, model: TinyMLP, log: @escaping (String) -> Void) throws -> (Interpreter, String, String?) {
        var out = ""
        let interp = Interpreter(output: { out += $0 })
        let d = try MemoryDataset.forModel(model, n: 40, seed: 9)
        interp.globals.values["m"] = .object(ModelObject(model))
        interp.globals.values["d"] = .object(DatasetObject(d))
        interp.globals.values["x"] = .object(TensorObject(try AttackOps.rows(d.images, Array(0..<16))))
        interp.globals.values["y"] = .list(ListBox(d.labels[0..<16].map { .number(Double($0)) }))
        Evaluation.log = log
        defer { Evaluation.log = { line in FileHandle.standardError.write((line + "\n").data(using: .utf8) ?? Data()) } }
        do {
            try interp.run(SourceFile(name: "t.adv", text: code))
            return (interp, out, nil)
        } catch let e as ScriptError {
            return (interp, out, e.render())
        } catch {
            return (interp, out, "\(error)")
        }
    }

    func tensor(_ i: Interpreter, _ name: String) -> Tensor? {
        if case .object(let o)? = i.globals.values[name], let t = o as? TensorObject { return t.tensor }
        return nil
    }

    func testAttackValuesPrintAndCallLikeTheEngine() throws {
        let (i, out, err) = try run("""
        a = pgd(eps: 4/255, step: 1/255, steps: 3)
        print(a)
        print(a.name)
        m.train()
        seed(5)
        adv = a(m, x, y)
        print(adv.shape, m.training)
        one = fgsm(eps: 2/255)(m, x[0], y[0])
        print(one.shape)
        """)
        XCTAssertNil(err)
        XCTAssertEqual(out, """
        pgd(eps: 4/255, step: 1/255, steps: 3, restarts: 1, random_start: true, norm: "linf", loss: "ce")
        PGD-3
        [16, 1, 8, 8] true
        [1, 8, 8]

        """)
        let m = TinyMLP(seed: 3)
        let d = try MemoryDataset.forModel(m, n: 40, seed: 9)
        let ref = try PGD(eps: 4 / 255, step: 1 / 255, steps: 3)
            .perturb(m, try AttackOps.rows(d.images, Array(0..<16)), labels: Array(d.labels[0..<16]), rng: RNG(seed: 5))
        XCTAssertEqual(tensor(i, "adv")?.toArray(), ref.toArray())
    }

    func testAttackRadiiPrintInTheirNormsUnits() throws {
        // An L2 radius is a length: 0.5 printed as "128/256" before; L-inf shows k/255 only when it is one.
        let (_, out, err) = try run("""
        print(pgd(eps: 0.5, step: 0.125, steps: 2, norm: "l2"))
        print(apgd(eps: 0.5, steps: 5, norm: "l2"))
        print(pgd(eps: 4/255, step: 0.5, steps: 1, norm: "l2"))
        print(pgd(eps: 0.5, step: 2/255, steps: 1))
        print(apgd(eps: 8/255, steps: 5))
        print(fgsm(eps: 0.1), fgsm(eps: 1), fgsm(eps: 3/255))
        """)
        XCTAssertNil(err)
        XCTAssertEqual(out, """
        pgd(eps: 0.5, step: 0.125, steps: 2, restarts: 1, random_start: true, norm: "l2", loss: "ce")
        apgd(eps: 0.5, steps: 5, restarts: 1, loss: "ce", norm: "l2")
        pgd(eps: 0.0156863, step: 0.5, steps: 1, restarts: 1, random_start: true, norm: "l2", loss: "ce")
        pgd(eps: 0.5, step: 2/255, steps: 1, restarts: 1, random_start: true, norm: "linf", loss: "ce")
        apgd(eps: 8/255, steps: 5, restarts: 1, loss: "ce", norm: "linf")
        fgsm(eps: 0.1) fgsm(eps: 1) fgsm(eps: 3/255)

        """)
    }

    func testEvaluateSweepAndTableFromAScript() throws {
        let (_, out, err) = try run("""
        r = evaluate(m, d, attack: pgd(eps: 4/255, step: 1/255, steps: 5), batch: 16, sanity: false, progress: false)
        print(r.clean, r.robust < r.clean, r.drop == (r.robust - r.clean) / r.clean * 100, r.images, r.attack, r.precision, r.params)
        r2 = evaluate(m, {train: d, test: d}, attacks: [fgsm(eps: 1/255), apgd(eps: 4/255, steps: 10)], batch: 16, sanity: false, progress: false)
        print(r2.attack, len(r2.attacks), r2.attacks[1].name)
        s = sweep(m, d, attack: pgd(eps: 4/255, step: 1/255, steps: 3), eps: [0, 4/255, 1], sanity: false, progress: false)
        print(s.robust[0] == s.clean, s.robust[2])
        print(table([r, {model: "deit-small*", precision: "full", params: 22e6, clean: 66.5, robust: 43.95}]))
        print(table([r2]))
        """)
        XCTAssertNil(err)
        let lines = out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "80 true true 40 PGD-5 fp32 2410")
        XCTAssertEqual(lines[1], "FGSM + APGD-CE-10 2 APGD-CE-10")
        XCTAssertEqual(lines[2], "true 0")
        XCTAssertTrue(lines[3].hasPrefix("| Model       | Train Prec | Num Para | Clean Acc@1 | PGD-5 Acc@1 | Relative Drop |"), lines[3])
        XCTAssertTrue(lines[6].hasPrefix("| deit-small* | full       | 22M      | 66.50%      | 43.95%      | -34%"), lines[6])
        XCTAssertTrue(lines[7].contains("FGSM Acc@1 | APGD-CE-10 Acc@1"), lines[7])
    }

    /// Attack parameters keep the number written (the engine computes with its Float), and a
    /// sweep's points carry their eps, exactly as written, and a label naming it.
    func testAttackParametersKeepTheWrittenNumber() throws {
        let (_, out, err) = try run("""
        a = pgd(eps: 4/255, step: 1/255, steps: 3)
        print(a.eps == 4/255, a.step == 1/255, fgsm(eps: 0.1).eps == 0.1, apgd(eps: 8/255).eps == 8/255, a.steps)
        s = sweep(m, d, attack: a, eps: [0, 1/255, 4/255], sanity: false, progress: false)
        print(s.eps[1] == 1/255, s.points[2].eps == 4/255, s.points[1].label, s.points[2].robust == s.robust[2])
        """)
        XCTAssertNil(err)
        XCTAssertEqual(out, "true true true true 3\ntrue true PGD-3 eps 1/255 true\n")
    }

    func testClearErrors() throws {
        let (_, _, e1) = try run("a = pgd(eps: 4/255)\na(m, x)")
        XCTAssertTrue(e1?.contains("PGD-10: missing argument 'y'") ?? false, e1 ?? "")
        let (_, _, e2) = try run("pgd(eps: 4/255, norm: \"l3\")")
        XCTAssertTrue(e2?.contains("\"linf\" or \"l2\"") ?? false, e2 ?? "")
        let (_, _, e3) = try run("evaluate(m, d, attack: 3)")
        XCTAssertTrue(e3?.contains("must be an attack") ?? false, e3 ?? "")
        let (_, _, e4) = try run("worst_of(pgd(eps: 1/255), 2)")
        XCTAssertTrue(e4?.contains("argument 2 must be an attack") ?? false, e4 ?? "")
        let (_, _, e5) = try run("pgd(eps: 4/255)(m, x, [1, 2])")
        XCTAssertTrue(e5?.contains("2 labels for 16 images") ?? false, e5 ?? "")
        let (_, _, e6) = try run("apgd(eps: -1)")
        XCTAssertTrue(e6?.contains("eps must be") ?? false, e6 ?? "")
    }

    func testStdlibTargetedPGDEqualsBuiltin() throws {
        let (i, _, err) = try run("""
        use attacks
        m.train()
        seed(7)
        mine = attacks.targeted_pgd(m, x, 3, eps: 8/255, step: 2/255, steps: 5)
        trained = m.training
        seed(7)
        ref = pgd(eps: 8/255, step: 2/255, steps: 5, target: 3)(m, x, y)
        """)
        XCTAssertNil(err)
        guard let a = tensor(i, "mine"), let b = tensor(i, "ref") else { return XCTFail("missing results") }
        XCTAssertEqual(a.toArray(), b.toArray())
        if case .bool(let t)? = i.globals.values["trained"] { XCTAssertTrue(t) } else { XCTFail() }
    }

    func testStdlibMIFGSMOneStepEqualsFGSM() throws {
        let (i, _, err) = try run("""
        use attacks
        mine = attacks.mi_fgsm(m, x, y, eps: 4/255, steps: 1)
        ref = fgsm(eps: 4/255)(m, x, y)
        more = attacks.mi_fgsm(m, x, y, eps: 4/255, steps: 10)
        """)
        XCTAssertNil(err)
        guard let a = tensor(i, "mine"), let b = tensor(i, "ref"), let c = tensor(i, "more") else { return XCTFail("missing results") }
        let x = try AttackOps.rows(try MemoryDataset.forModel(TinyMLP(seed: 3), n: 40, seed: 9).images, Array(0..<16))
        for k in 0..<a.count {
            XCTAssertEqual(a.ptr[k], b.ptr[k], accuracy: 1e-6)
            XCTAssertLessThanOrEqual(abs(c.ptr[k] - x.ptr[k]), 4 / 255 + 1e-6)
        }
    }
}
