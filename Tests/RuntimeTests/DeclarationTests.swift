// Builtins and object methods are declared once (signature, doc, body): every declaration
// parses, argument errors come from it before a body runs, bodies read only declared
// arguments, completion offers the declared keyword arguments, and engine interruptions stay
// interruptions. See docs/architecture.md "Adding a builtin".
import XCTest
import Engine
import Tensor
import Lang
@testable import Runtime

final class DeclarationTests: XCTestCase {
    /// Every builtin, every object method and every callable object's declaration.
    static func allDeclarations() -> [Builtin] {
        let table = Registry.standard()
        var all = table.order.compactMap { table.byName[$0] }
        all += BuiltinsMarkdown.objectTypes(table).flatMap(\.methods)
        all += [ModelObject.members.callable?.template, AttackObject.members.callable?.template,
                RandAugmentObject.members.callable?.template, MixupObject.members.callable?.template].compactMap { $0 }
        return all
    }

    func testEveryDeclarationParses() {
        let all = DeclarationTests.allDeclarations()
        XCTAssertGreaterThan(all.count, 120)
        for b in all {
            XCTAssertNil(b.declarationError, "\(b.name): \(b.declarationError ?? "")")
            let short = String(b.name.split(separator: ".").last ?? "")
            if b.name.contains(".") || b.name == b.declaration.name {
                XCTAssertEqual(b.declaration.name, short, "\(b.name) is declared as \(b.signature)")
            }
            XCTAssertFalse(b.doc.isEmpty, "\(b.name) has no doc")
            XCTAssertLessThanOrEqual(b.summary.count, 250, "\(b.name): the first paragraph is a short summary; start a new paragraph")
        }
    }

    func testSignatureGrammar() throws {
        let s = try Signature(parsing: "pgd(eps, step = eps/4, steps = 10, restarts: 1, norm: \"linf\", target:)")
        XCTAssertEqual(s.name, "pgd")
        XCTAssertEqual(s.parameters.map(\.name), ["eps", "step", "steps", "restarts", "norm", "target"])
        XCTAssertEqual(s.parameters.map(\.kind), [.positional, .positional, .positional, .named, .named, .named])
        XCTAssertEqual(s.parameters.map(\.isRequired), [true, false, false, false, false, true])
        XCTAssertEqual(s.parameters[1].defaultText, "eps/4")
        XCTAssertEqual(s.parameters[4].defaultText, "\"linf\"")
        let v = try Signature(parsing: "t.reshape(dims...)")
        XCTAssertEqual(v.name, "reshape")
        XCTAssertEqual(v.parameters, [Parameter(name: "dims", kind: .variadic, defaultText: nil)])
        XCTAssertEqual(try Signature(parsing: "f(x, fill: [1, 2], g: h(1, 2))").argumentNames, ["x", "fill", "g"])
        for bad in ["pgd", "pgd(eps:, step)", "f(a, a)", "f(xs..., y)", "f(1x)", "f(a =)"] {
            XCTAssertThrowsError(try Signature(parsing: bad), bad)
        }
    }

    /// Argument errors come from the declaration, for builtins and methods alike.
    func testArgumentErrorsComeFromTheDeclaration() {
        XCTAssertEqual(errorLine("pgd(epz: 1)"), "t.adv:1:1: error: pgd has no argument named 'epz'; did you mean 'eps'? (arguments: eps, step, steps, restarts, random_start, norm, loss, target, batched, alpha)")
        XCTAssertEqual(errorLine("pgd()"), "t.adv:1:1: error: pgd: missing argument 'eps'")
        XCTAssertEqual(errorLine("pgd(1, 2, 3, 4)"), "t.adv:1:1: error: pgd takes at most 3 positional arguments, got 4")
        XCTAssertEqual(errorLine("pgd(1, eps: 2)"), "t.adv:1:1: error: pgd: argument 'eps' given both by position and by name")
        XCTAssertEqual(errorLine("sweep(1, 2)"), "t.adv:1:1: error: sweep: missing argument 'attack'")
        XCTAssertEqual(errorLine("t = zeros(2)\nt.sum(kepdim: true)"), "t.adv:2:1: error: Tensor.sum has no argument named 'kepdim'; did you mean 'keepdim'? (arguments: dim, keepdim)")
        XCTAssertEqual(errorLine("t = zeros(2)\nt.sum(0, 1)"), "t.adv:2:1: error: Tensor.sum takes at most 1 positional argument, got 2")
        XCTAssertEqual(errorLine("r = recipe()\nr.lr_at(3)"), "t.adv:2:1: error: Recipe.lr_at: missing argument 'steps_per_epoch'")
        XCTAssertEqual(errorLine("a = pgd(1)\na(1)"), "t.adv:2:1: error: PGD-10: missing argument 'x'")
        XCTAssertEqual(errorLine("zeros(1, 1, 1, 1, 1, 1, 1, 1, 1)"), "t.adv:1:1: error: zeros takes at most 8 positional arguments, got 9")
        XCTAssertEqual(errorLine("zeros(1).reshape(1, 1, 1, 1, 1, 1, 1, 1, 1)"), "t.adv:1:1: error: Tensor.reshape takes at most 8 positional arguments, got 9")
        // range's optional start comes first: one value is the stop.
        XCTAssertEqual(output("print(range(3), range(1, 3), range(stop: 2))"), "[0, 1, 2] [1, 2] [0, 1]\n")
    }

    /// Each body reads only arguments its declaration has, at the declared positions: the
    /// hostile-argument cases of BuiltinFuzzTests (every builtin and method) run with the audit on.
    func testBodiesReadOnlyDeclaredArguments() throws {
        var problems = Set<String>()
        // Cases write files (save(m, "abc")): run them in a temporary directory.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adv-declaration-audit-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let oldDir = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(dir.path)
        Arguments.audit = { problems.insert($0) }
        defer {
            Arguments.audit = nil
            Interrupt.requested = false
            _ = FileManager.default.changeCurrentDirectoryPath(oldDir)
            try? FileManager.default.removeItem(at: dir)
        }
        let interp = Interpreter(output: { _ in })
        interp.limits.seconds = 2
        try interp.run(SourceFile(name: "prelude.adv", text: BuiltinFuzzTests.prelude))
        let cases = BuiltinFuzzTests.cases(Registry.standard()).filter { !$0.contains("nan") && !$0.contains("1e") }
        for code in cases where !code.hasPrefix("exit(") {
            let watchdog = DispatchWorkItem { Interrupt.requested = true }
            DispatchQueue.global().asyncAfter(deadline: .now() + 2, execute: watchdog)
            // Each case runs with the backend it found (a case may call threads(n)).
            Backend.with({ _ in }) { _ = try? interp.run(SourceFile(name: "case.adv", text: code)) }
            watchdog.cancel()
            Interrupt.requested = false
        }
        XCTAssertEqual(problems.sorted(), [])
        // The audit sees a misread (it can fail).
        let s = try Signature(parsing: "f(x, y: 1)")
        XCTAssertNotNil(s.misread("z", at: nil))
        XCTAssertNotNil(s.misread("y", at: 1))
        XCTAssertNil(s.misread("x", at: 0))
    }

    func testCompletionOffersKeywordArguments() throws {
        let interp = Interpreter(output: { _ in })
        try interp.run(SourceFile(name: "t.adv", text: "t = zeros(2)\nd = synthetic(n: 4, test: 2)\nr = recipe()\nfn f(alpha, beta = 2) { return alpha }"))
        func complete(_ line: String) -> [String] {
            // The word is what follows the last break character, as readline splits it.
            let start = line.lastIndex { " (,:".contains($0) }.map { line.index(after: $0) } ?? line.startIndex
            return Completion.complete(String(line[start...]), before: String(line[..<start]), interp: interp)
        }
        XCTAssertEqual(complete("pgd(e"), ["eps:"])
        XCTAssertEqual(complete("fashion_mnist(im"), ["image:"])
        // The silent alias size: only when typed (the kernel's Tab on `fashion_mnist(si`).
        XCTAssertEqual(complete("fashion_mnist(si"), ["size:"])
        XCTAssertFalse(complete("fashion_mnist(").contains("size:"))
        XCTAssertEqual(complete("x = pgd(eps: 1, st"), ["step:", "steps:"])
        XCTAssertEqual(complete("pgd(eps: 1, ta"), ["target:"])
        XCTAssertEqual(complete("t.sum(k"), ["keepdim:"])
        XCTAssertEqual(complete("d.train.batches(dr"), ["drop_last:"])
        XCTAssertEqual(complete("r2 = r.with(warm"), ["warmup_epochs:", "warmup_lr:"])
        XCTAssertEqual(complete("f(b"), ["beta:"])
        XCTAssertEqual(complete("print(len(t), sum(x"), ["x:"])
        // Not at the start of an argument, or nothing matches: ordinary completion.
        XCTAssertFalse(complete("pgd(eps: e").contains("eps:"))
        XCTAssertTrue(complete("pgd(ex").contains("exp"))
        XCTAssertTrue(complete("print(\"pgd(e").isEmpty || !complete("print(\"pgd(e").contains("eps:"))
        // Names already given are not offered again.
        XCTAssertFalse(complete("pgd(eps: 1, e").contains("eps:"))
    }

    /// The one engine wrapper keeps Ctrl-C an interruption (the REPL then keeps the variables).
    func testEngineInterruptionStaysAnInterruption() {
        XCTAssertThrowsError(try engine { throw EngineError.interrupted }) { e in
            guard case RuntimeError.interrupted? = e as? RuntimeError else { return XCTFail("got \(e)") }
        }
        // Through builtins: Ctrl-C during evaluate or an attack call is reported as an
        // interruption (the REPL's "interrupted (variables are kept)"), not as an engine error.
        let interp = Interpreter(output: { _ in })
        XCTAssertNoThrow(try interp.run(SourceFile(name: "t.adv", text: """
            m = model("resnet18", image: 8, channels: 1, classes: 2, width: 0.25)
            d = synthetic(n: 8, classes: 2, image: 8, channels: 1, test: 8)
            a = pgd(eps: 0.1, steps: 3)
            """)))
        defer { Interrupt.requested = false }
        for code in ["evaluate(m, d, progress: false, sanity: false)", "a(m, d.test[0][0], 1)"] {
            Interrupt.requested = true
            XCTAssertThrowsError(try interp.run(SourceFile(name: "t.adv", text: code)), code) { e in
                guard let s = e as? ScriptError, case .interrupted = s.error else { return XCTFail("\(code): got \(e)") }
            }
        }
    }
}
