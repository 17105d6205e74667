// The AutoAttack suite (APGD-T, FAB-T, Square, AutoAttack) against torchattacks 3.5.1
// (scripts/fixtures/gen_autoattack.py, Fixtures/autoattack.safetensors) and its properties:
// the ensemble is never weaker than a member, Square breaks a gradient-masked model, every
// output stays in the eps-ball.
import XCTest
@testable import Engine
@testable import Tensor

extension AttackFixture {
    /// The fixture's clean images.
    var x: Tensor { tensors["x"]! }
}

/// The start points gen_autoattack.py used instead of torch.rand.
enum AutoAttackStarts {
    /// The start uniforms the generator used instead of torch.rand (see its `quasi_uniform`).
    static func quasiUniform(rank: Int, n: Int, d: Int) -> [Float] {
        (0..<(n * d)).map { k in
            let v = (Double(k + 1) * 0.7548776662466927 + Double(rank) * 0.5698402909980532)
            return Float(v.truncatingRemainder(dividingBy: 1.0))
        }
    }

    /// torchattacks APGDT's L-inf start from uniforms u: x + (eps * t) / max|t|, t = 2u - 1, clipped.
    static func start(_ x: Tensor, u: [Float], eps: Float) -> Tensor {
        let n = x.shape[0], d = x.count / n
        let out = x.copy()
        for e in 0..<n {
            let t = (0..<d).map { 2 * u[e * d + $0] - 1 }
            let s = t.map { abs($0) }.max()!
            for j in 0..<d { out.ptr[e * d + j] = min(max(x.ptr[e * d + j] + (eps * t[j]) / s, 0), 1) }
        }
        return out
    }
}

final class AutoAttackTests: XCTestCase {
    var savedWrite: ((String) -> Void)!
    override func setUp() {
        Evaluation.log = { _ in }
        savedWrite = Progress.write
        Progress.write = { _ in }
    }
    override func tearDown() {
        Evaluation.log = { line in FileHandle.standardError.write((line + "\n").data(using: .utf8) ?? Data()) }
        Progress.write = savedWrite
    }

    func robustCount(_ fooled: [Bool]) -> Int { fooled.filter { !$0 }.count }

    func testTargetedDLRGradientMatchesCentralDifferences() throws {
        let rng = RNG(seed: 4)
        let n = 5, c = 7
        let logits = Tensor(zeros: [n, c])
        for k in 0..<logits.count { logits.ptr[k] = rng.normal() * 3 }
        var goal = AttackGoal(labels: [0, 1, 2, 3, 4])
        goal.lossTargets = [3, 0, 6, 5, 1]
        let leaf = logits.copy()
        leaf.requiresGrad = true
        let (values, total) = try AttackLoss.compute(leaf, kind: .dlr, goal: goal)
        try total.backward()
        let g = leaf.grad!
        for i in 0..<n {
            // the reference formula directly
            let row = (0..<c).map { Double(logits.ptr[i * c + $0]) }
            func f(_ r: [Double]) -> Double {
                let s = r.sorted(by: >)
                return -(r[goal.labels[i]] - r[goal.lossTargets![i]]) / (s[0] - 0.5 * (s[2] + s[3]) + 1e-12)
            }
            XCTAssertEqual(Double(values[i]), f(row), accuracy: 1e-5)
            for j in 0..<c {
                var a = row, b = row
                a[j] += 1e-4; b[j] -= 1e-4
                XCTAssertEqual(Double(g.ptr[i * c + j]), (f(a) - f(b)) / 2e-4, accuracy: 1e-3, "row \(i) logit \(j)")
            }
        }
    }

    func testAPGDTFirstTargetMatchesReference() throws {
        let f = try AttackFixture("autoattack")
        let x = f.x, n = x.shape[0], d = x.count / n, eps = f.float("eps")
        let clean = try f.t("clean").toArray().map { $0 > 0.5 }
        let idx = (0..<n).filter { clean[$0] }
        let xs = try AttackOps.rows(x, idx)
        let u = AutoAttackStarts.quasiUniform(rank: 2, n: n, d: d)
        let us = idx.flatMap { Array(u[($0 * d)..<(($0 + 1) * d)]) }
        var goal = AttackGoal(labels: idx.map { f.labels[$0] })
        goal.lossTargets = APGDTargeted.rankedClass(try AttackOps.logits(f.model, xs), rank: 2)
        let inner = try APGD(eps: eps, steps: 100, loss: .dlr)
        let out = try AttackMode.evaluating(f.model) {
            try inner.single(f.model, clean: xs, start: AutoAttackStarts.start(xs, u: us, eps: eps), goal: goal)
        }
        let refAcc = try f.t("apgdt2_acc").toArray().map { $0 > 0.5 }
        XCTAssertEqual(out.fooled.map { !$0 }, refAcc, "per-example robustness after the first target differs")
        let lb = try f.t("apgdt2_loss_best").toArray()
        for e in 0..<lb.count { XCTAssertEqual(out.bestLoss[e], lb[e], accuracy: 1e-3 * max(1, abs(lb[e]))) }
        // best points within 1e-5 except at most one example (APGD's loss comparisons can swap
        // two iterates whose losses differ by float rounding; docs/attacks.md)
        let best = try f.t("apgdt2_best")
        var differing = Set<Int>()
        for k in 0..<best.count where abs(out.best.ptr[k] - best.ptr[k]) > 1e-5 { differing.insert(k / d) }
        XCTAssertLessThanOrEqual(differing.count, 1, "x_best differs for examples \(differing.sorted())")
    }

    func testAPGDTRobustSetMatchesReference() throws {
        let f = try AttackFixture("autoattack")
        let x = f.x, n = x.shape[0], d = x.count / n, eps = f.float("eps")
        let a = try APGDTargeted(eps: eps)
        a.startHook = { rank, idx, xs in
            let u = AutoAttackStarts.quasiUniform(rank: rank, n: n, d: d)
            return AutoAttackStarts.start(xs, u: idx.flatMap { Array(u[($0 * d)..<(($0 + 1) * d)]) }, eps: eps)
        }
        let r = try a.run(f.model, x, goal: AttackGoal(labels: f.labels), rng: RNG(seed: 0))
        let ref = try f.t("apgdt_robust").toArray().map { $0 > 0.5 }
        let mine = r.fooled.map { !$0 }
        let diff = (0..<n).filter { mine[$0] != ref[$0] }
        XCTAssertLessThanOrEqual(diff.count, 1, "robust sets differ at \(diff); mine \(robustCount(r.fooled)), reference \(ref.filter { $0 }.count)")
        XCTAssertEqual(a.name, "APGD-T")
    }

    /// Runs `body` with glibc filling every freed block with a byte pattern (mallopt M_PERTURB),
    /// so code that reads memory after it was freed reads garbage every time, not only when the
    /// heap happens to reuse the block (FAB once read its distances from a freed temporary: the
    /// L2 fixture differed by 2 examples in a whole test run and by none alone).
    func withFreedMemoryScrambled<T>(_ body: () throws -> T) rethrows -> T {
        // mallopt is glibc's (malloc.h, which Swift's Glibc module does not import)
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let sym = dlsym(dlopen(nil, RTLD_NOW), "mallopt") else { return try body() }
        let mallopt = unsafeBitCast(sym, to: Mallopt.self)
        let perturb: Int32 = -6   // M_PERTURB in malloc.h
        _ = mallopt(perturb, 0xA5)
        defer { _ = mallopt(perturb, 0) }
        return try body()
    }

    func checkFAB(_ norm: AttackNorm, key: String, epsKey: String) throws {
        try withFreedMemoryScrambled { try checkFABRobustSets(norm, key: key, epsKey: epsKey) }
    }

    func checkFABRobustSets(_ norm: AttackNorm, key: String, epsKey: String) throws {
        let f = try AttackFixture("autoattack")
        let x = f.x, n = x.shape[0], d = x.count / n
        let a = try FAB(eps: f.float(epsKey), targets: 9, norm: norm)
        let r = try a.run(f.model, x, goal: AttackGoal(labels: f.labels), rng: RNG(seed: 0))
        let ref = try f.t("\(key)_robust").toArray().map { $0 > 0.5 }
        let mine = r.fooled.map { !$0 }
        let diff = (0..<n).filter { mine[$0] != ref[$0] }
        // FAB-T is deterministic (one restart from x): the same robust set up to one example
        // whose distance lands within float rounding of eps
        let advRef0 = try f.t(key)
        func dist(_ t: Tensor, _ e: Int) -> Float {
            var s: Float = 0
            for j in (e * d)..<((e + 1) * d) {
                let v = t.ptr[j] - x.ptr[j]
                s = norm == .linf ? max(s, abs(v)) : s + v * v
            }
            return norm == .linf ? s : s.squareRoot()
        }
        XCTAssertLessThanOrEqual(diff.count, 1, "\(a.name) robust sets differ at \(diff): " + diff.map { "#\($0) mine robust \(mine[$0]) dist \(dist(r.adversarial, $0)), reference robust \(ref[$0]) dist \(dist(advRef0, $0))" }.joined(separator: "; "))
        // the adversarial points' distances agree (minimum-norm: the quantity FAB optimises)
        let advRef = try f.t(key)
        var far = 0
        for e in 0..<n where !mine[e] && !ref[e] {
            var s1: Float = 0, s2: Float = 0
            for j in (e * d)..<((e + 1) * d) {
                let a1 = r.adversarial.ptr[j] - x.ptr[j], a2 = advRef.ptr[j] - x.ptr[j]
                if norm == .linf { s1 = max(s1, abs(a1)); s2 = max(s2, abs(a2)) } else { s1 += a1 * a1; s2 += a2 * a2 }
            }
            if norm == .l2 { s1 = s1.squareRoot(); s2 = s2.squareRoot() }
            if abs(s1 - s2) > 1e-3 * max(s2, 1e-3) + 1e-5 { far += 1 }
        }
        XCTAssertLessThanOrEqual(far, 1, "\(a.name): \(far) adversarial distances differ from the reference by more than 0.1%")
    }

    func testFABTLinfMatchesReference() throws { try checkFAB(.linf, key: "fabt", epsKey: "eps") }
    func testFABTL2MatchesReference() throws { try checkFAB(.l2, key: "fabt_l2", epsKey: "l2_eps") }

    /// Mean and standard deviation of robust accuracy (percent) over seeds 1...k.
    func seeds(_ k: Int, _ make: () throws -> Attack, _ f: AttackFixture) throws -> (mean: Double, sd: Double, all: [Double]) {
        let a = try make()
        let accs = try (1...k).map { s -> Double in
            let r = try a.run(f.model, f.x, goal: AttackGoal(labels: f.labels), rng: RNG(seed: UInt64(s)))
            return Double(robustCount(r.fooled)) * 100 / Double(f.labels.count)
        }
        let m = accs.reduce(0, +) / Double(k)
        return (m, (accs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(max(k - 1, 1))).squareRoot(), accs)
    }

    /// Random-search results match in distribution: our mean over 8 seeds must lie within
    /// 2 images (3.1 points of 64) plus 3 standard errors of the difference of the two means
    /// from the reference's mean over its 8 seeds.
    func checkSquare(_ norm: AttackNorm, key: String, epsKey: String) throws {
        let f = try AttackFixture("autoattack")
        let ref = try f.t("\(key)_robust_seeds").toArray().map(Double.init)
        let rm = ref.reduce(0, +) / Double(ref.count)
        let rsd = (ref.map { ($0 - rm) * ($0 - rm) }.reduce(0, +) / Double(ref.count - 1)).squareRoot()
        let mine = try seeds(8, { try Square(eps: f.float(epsKey), queries: 5000, norm: norm) }, f)
        let se = ((rsd * rsd + mine.sd * mine.sd) / 8).squareRoot()
        let tol = 200 / 64 + 3 * se
        XCTAssertEqual(mine.mean, rm, accuracy: tol, "Square \(norm): mine \(mine.all), reference \(ref)")
    }

    func testSquareLinfMatchesReferenceInDistribution() throws { try checkSquare(.linf, key: "square", epsKey: "eps") }
    func testSquareL2MatchesReferenceInDistribution() throws { try checkSquare(.l2, key: "square_l2", epsKey: "l2_eps") }

    func testAutoAttackMatchesReferenceInDistribution() throws {
        let f = try AttackFixture("autoattack")
        let ref = try f.t("aa_robust_seeds").toArray().map(Double.init)
        let rm = ref.reduce(0, +) / Double(ref.count)
        let mine = try seeds(4, { try AutoAttack(eps: f.float("eps"), verbose: false) }, f)
        // AutoAttack's result is deterministic up to its random starts and Square: the same
        // tolerance rule as Square (2 images plus 3 standard errors)
        let rsd = (ref.map { ($0 - rm) * ($0 - rm) }.reduce(0, +) / Double(max(ref.count - 1, 1))).squareRoot()
        let se = ((rsd * rsd + mine.sd * mine.sd) / 4).squareRoot()
        XCTAssertEqual(mine.mean, rm, accuracy: 200 / 64 + 3 * se, "AutoAttack: mine \(mine.all), reference \(ref)")
    }

    func testAutoAttackIsNeverAboveAnyMember() throws {
        let f = try AttackFixture("autoattack")
        let eps = f.float("eps")
        let goal = AttackGoal(labels: f.labels)
        let aa = try AutoAttack(eps: eps, verbose: false)
        let all = try aa.run(f.model, f.x, goal: goal, rng: RNG(seed: 7))
        for (name, member) in aa.members {
            let alone = try member.run(f.model, f.x, goal: goal, rng: RNG(seed: 7))
            XCTAssertLessThanOrEqual(robustCount(all.fooled), robustCount(alone.fooled), "AutoAttack above \(name) alone")
        }
        XCTAssertEqual(aa.members.map(\.name), ["apgd-ce", "apgd-t", "fab-t", "square"])
        XCTAssertEqual(aa.members.map(\.attack.name), ["APGD-CE-100", "APGD-T", "FAB-T", "Square"])
        XCTAssertEqual(aa.name, "AutoAttack")
        // stats: the members ran on ever fewer examples, breaking what they report
        XCTAssertEqual(aa.stats[0].attacked, try f.t("clean").toArray().filter { $0 > 0.5 }.count)
        let broken = aa.stats.map(\.broken).reduce(0, +)
        XCTAssertEqual(robustCount(all.fooled), f.labels.count - broken - (f.labels.count - aa.stats[0].attacked))
        XCTAssertEqual(Set(all.brokenBy!.filter { !$0.isEmpty }).isSubset(of: ["apgd-ce", "apgd-t", "fab-t", "square"]), true)
    }

    func testAutoAttackVersionsAndProgress() throws {
        var lines: [String] = []
        Progress.write = { lines.append($0) }  // the per-member lines go through the progress display
        let f = try AttackFixture("autoattack")
        let plus = try AutoAttack(eps: f.float("eps"), version: .plus)
        XCTAssertEqual(plus.members.map(\.name), ["apgd-ce", "apgd-dlr", "fab", "square", "apgd-t", "fab-t"])
        XCTAssertEqual(plus.name, "AutoAttack-plus")
        let rand = try AutoAttack(eps: 0.5, norm: .l2, version: .rand)
        XCTAssertEqual(rand.members.map(\.name), ["apgd-ce", "apgd-dlr"])
        XCTAssertEqual((rand.members[0].attack as? APGD)?.eot, 20)
        XCTAssertEqual(rand.name, "AutoAttack-rand-L2")
        let aa = try AutoAttack(eps: f.float("eps"))
        _ = try aa.run(f.model, f.x, goal: AttackGoal(labels: f.labels), rng: RNG(seed: 1))
        XCTAssertTrue(lines.contains { $0.contains("apgd-ce") && $0.contains("after APGD-CE") }, "\(lines)")
        // eps 0: the clean images, nothing attacked
        let zero = try aa.with(eps: 0).run(f.model, f.x, goal: AttackGoal(labels: f.labels), rng: RNG(seed: 1))
        XCTAssertEqual(zero.adversarial.toArray(), f.x.toArray())
    }

    func testSquareBreaksAGradientMaskedModel() throws {
        // The same weights behind a forward that detaches its input: every input gradient is
        // exactly zero, so gradient attacks cannot move, while Square only needs the logits.
        let f = try AttackFixture("autoattack")
        let masked = DetachedInput(f.model)
        let goal = AttackGoal(labels: f.labels)
        let eps = f.float("eps")
        let pgd = try APGD(eps: eps, steps: 100, loss: .ce).run(masked, f.x, goal: goal, rng: RNG(seed: 2))
        let sq = try Square(eps: eps, queries: 2000).run(masked, f.x, goal: goal, rng: RNG(seed: 2))
        let open = try APGD(eps: eps, steps: 100, loss: .ce).run(f.model, f.x, goal: goal, rng: RNG(seed: 2))
        XCTAssertGreaterThan(robustCount(pgd.fooled), robustCount(open.fooled) + 5, "the masking should hide the gradient")
        XCTAssertLessThan(robustCount(sq.fooled), robustCount(pgd.fooled) - 5, "Square should break what APGD misses")
    }

    func testOutputsOutsideTheBallAreErrors() throws {
        let m = TinyMLP(seed: 1)
        let x = Tensor.rand([4, 1, 8, 8], rng: RNG(seed: 1))
        for (bad, expect) in [(Overshoot(eps: 0.1, by: 0.05, norm: .linf), "L-inf distance"),
                              (Overshoot(eps: 0.5, by: 0.2, norm: .l2), "L2 distance"),
                              (Overshoot(eps: 0.1, by: 2, norm: .linf), "outside [0, 1]")] {
            XCTAssertThrowsError(try bad.run(m, x, goal: AttackGoal(labels: [0, 1, 2, 3]), rng: RNG(seed: 0))) { e in
                let s = "\(e)"
                XCTAssertTrue(s.contains("OVERSHOOT") && s.contains(expect), s)
                if expect != "outside [0, 1]" { XCTAssertTrue(s.contains("largest violation"), s) }
            }
        }
        // within the ball (up to float rounding) is fine
        XCTAssertNoThrow(try Overshoot(eps: 0.1, by: 0, norm: .linf).run(m, x, goal: AttackGoal(labels: [0, 1, 2, 3]), rng: RNG(seed: 0)))
        // ... and inside worst_of each member is checked against its own ball
        let w = try WorstOf([try FGSM(eps: 0.3), Overshoot(eps: 0.1, by: 0.05, norm: .linf)])
        let mm = TinyMLP(seed: 1)
        mm.masked = true   // FGSM cannot fool a constant model, so the second member runs
        XCTAssertThrowsError(try w.run(mm, x, goal: AttackGoal(labels: [0, 1, 2, 3]), rng: RNG(seed: 0)))
    }

    func testNewAttacksKeepEpsZeroClean() throws {
        let f = try AttackFixture("autoattack")
        let goal = AttackGoal(labels: f.labels)
        let clean = try f.t("clean").toArray().filter { $0 > 0.5 }.count
        for a in [try APGDTargeted(eps: 0, steps: 10) as Attack, try FAB(eps: 0, steps: 10), try Square(eps: 0, queries: 50),
                  try Square(eps: 0, queries: 50, norm: .l2), try FAB(eps: 0, steps: 5, targets: nil, norm: .l2)] {
            let r = try a.run(f.model, f.x, goal: goal, rng: RNG(seed: 0))
            XCTAssertEqual(robustCount(r.fooled), clean, a.name)
        }
    }

    func testSquareIsDeterministicFromTheSeed() throws {
        let f = try AttackFixture("autoattack")
        for norm in AttackNorm.allCases {
            let a = try Square(eps: norm == .linf ? 8 / 255 : 0.3, queries: 200, norm: norm)
            let r1 = try a.run(f.model, f.x, goal: AttackGoal(labels: f.labels), rng: RNG(seed: 3))
            let r2 = try a.run(f.model, f.x, goal: AttackGoal(labels: f.labels), rng: RNG(seed: 3))
            XCTAssertEqual(r1.adversarial.toArray(), r2.adversarial.toArray())
            XCTAssertEqual(r1.fooled, r2.fooled)
        }
        XCTAssertEqual((0..<9000).map { try! Square(eps: 0.1).p(at: $0) }.reduce(into: Set<Float>()) { $0.insert($1) }.count, 10)
        XCTAssertEqual(try Square(eps: 0.1).p(at: 10), 0.8)
        XCTAssertEqual(try Square(eps: 0.1).p(at: 11), 0.4)
    }

    func testFABProjectionsSolveTheBoxConstrainedProblem() {
        // L-inf and L2: t + d lies on the hyperplane, in the box, and no shorter feasible move
        // exists along random directions (checked against a brute-force line search).
        let rng = RNG(seed: 11)
        for trial in 0..<50 {
            let dim = 6
            let t = (0..<dim).map { _ in rng.uniform() }
            let w = (0..<dim).map { _ in rng.normal() }
            // a plane through a random box point, so it is reachable
            let p = (0..<dim).map { _ in rng.uniform() }
            let b = zip(w, p).map { $0 * $1 }.reduce(0, +)
            for norm in AttackNorm.allCases {
                let d = norm == .linf ? FABProjection.linf(t, w, b, dim) : FABProjection.l2(t, w, b, dim)
                let y = zip(t, d).map { $0 + $1 }
                XCTAssertEqual(zip(w, y).map { $0 * $1 }.reduce(0, +), b, accuracy: 1e-4, "trial \(trial) \(norm)")
                for v in y { XCTAssertTrue(v >= -1e-6 && v <= 1 + 1e-6, "trial \(trial) \(norm): \(y)") }
                let len = norm == .linf ? d.map { abs($0) }.max()! : d.map { $0 * $0 }.reduce(0, +).squareRoot()
                let plen = norm == .linf ? zip(p, t).map { abs($0 - $1) }.max()! : zip(p, t).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
                XCTAssertLessThanOrEqual(len, plen + 1e-5, "trial \(trial) \(norm): a known feasible point is closer")
            }
        }
    }

    /// The projections' integer-key sort orders the coordinates exactly as the stable closure
    /// sort did: ties (and -0 against +0) by index, negatives, the 1e12 "never saturates" value.
    func testFABProjectionOrderIsTheStableSort() {
        let rng = RNG(seed: 5)
        for trial in 0..<40 {
            let n = [1, 2, 7, 64, 1024][trial % 5]
            var v = (0..<n).map { _ in Float(Int(rng.uniform() * 6)) / 5 }   // many ties
            if n > 3 { v[0] = -0.0; v[1] = 0; v[2] = 1e12; v[n - 1] = -0.25 }
            if trial % 2 == 1 { v = v.map { $0 * rng.uniform() } }
            XCTAssertEqual(FABProjection.order(v, descending: true), (0..<n).sorted { v[$0] > v[$1] }, "trial \(trial) descending")
            XCTAssertEqual(FABProjection.order(v, descending: false), (0..<n).sorted { v[$0] < v[$1] }, "trial \(trial) ascending")
        }
    }

    /// FAB-T's per-image projection steps run split over threads: the same images with 1 and 2.
    func testFABIsTheSameWithOneAndTwoThreads() throws {
        let f = try AttackFixture("autoattack")
        for norm in AttackNorm.allCases {
            let a = try FAB(eps: f.float(norm == .linf ? "eps" : "l2_eps"), steps: 20, targets: 3, norm: norm)
            let runs = try [1, 2].map { t in
                try Backend.with({ $0.threads = t }) {
                    try a.run(f.model, f.x, goal: AttackGoal(labels: f.labels), rng: RNG(seed: 0)).adversarial.toArray()
                }
            }
            XCTAssertEqual(runs[0], runs[1], "FAB-T \(norm)")
        }
    }
}

/// A model whose forward detaches its input (every input gradient is zero): gradient masking.
final class DetachedInput: Model {
    let inner: TinyMLP
    init(_ m: TinyMLP) { inner = m }
    var name: String { "detached_mlp" }
    var restartBatchLimit: Int { 32 }
    var classes: Int { inner.classes }
    var inputShape: (channels: Int, height: Int, width: Int) { inner.inputShape }
    var isTraining: Bool { get { inner.isTraining } set { inner.isTraining = newValue } }
    var precision: Precision { get { .fp32 } set {} }
    var trainedPrecision: Precision? = nil
    func parameters() -> [NamedTensor] { inner.parameters() }
    func buffers() -> [NamedTensor] { [] }
    func forward(_ x: Tensor) throws -> Tensor { try Autograd.noGrad { try inner.forward(x.detached()) } }
}

/// A broken attack: moves every pixel by eps + `by` (clipped to [0, 1] unless `by` > 1).
final class Overshoot: Attack {
    let eps: Float, by: Float, norm: AttackNorm
    init(eps: Float, by: Float, norm: AttackNorm) { self.eps = eps; self.by = by; self.norm = norm }
    var name: String { "OVERSHOOT" }
    var steps: Int? { nil }
    var description: String { name }
    func with(eps: Float) -> Attack { Overshoot(eps: eps, by: by, norm: norm) }
    func with(steps: Int) -> Attack? { nil }
    func attack(_ model: Model, _ x: Tensor, goal: AttackGoal, rng: RNG) throws -> AttackResult {
        let adv = x.copy()
        let n = x.shape[0], d = x.count / n
        for e in 0..<n {
            for j in 0..<d {
                let k = e * d + j
                let step = norm == .linf ? eps + by : (eps + by) / Float(d).squareRoot()
                let v = x.ptr[k] < 0.5 ? x.ptr[k] + step : x.ptr[k] - step
                adv.ptr[k] = by > 1 ? v : min(max(v, 0), 1)
            }
        }
        return AttackResult(adversarial: adv, fooled: [Bool](repeating: false, count: n))
    }
}
