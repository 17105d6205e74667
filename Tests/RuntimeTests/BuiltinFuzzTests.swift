import Foundation
import XCTest
import Engine
import Tensor
import Lang
@testable import Runtime

/// Every registered builtin and every method of the host objects (tensor, model, dataset,
/// attack, recipe, pipeline, batches, randaugment, mixup) called with hostile arguments:
/// wrong types, nil, negative/zero/huge/NaN/inf numbers, empty and ragged lists, empty and
/// wrong-shaped tensors, unknown named arguments. Nothing may crash the process; each case
/// either runs or throws a script error, in ONE session whose variables survive every error
/// (as in the REPL). Regression tests for the crashes the audit found are at the end.
final class BuiltinFuzzTests: XCTestCase {
    /// Objects the cases use (small: an 8x8 one-channel world with 3 classes).
    static let prelude = """
        inf = 1e308 * 10
        nan = inf - inf
        t = rand(2, 3)
        e = zeros(0, 3)
        s = tensor(1.5)
        img = rand(2, 1, 8, 8)
        lab = [0, 1]
        m = model("resnet18", image: 8, channels: 1, classes: 3, params: 3000)
        v = model("deit_tiny", image: 8, channels: 1, classes: 3, patch: 4, depths: [1], dims: [16], heads: [2])
        d = synthetic(n: 8, classes: 3, image: 8, channels: 1, test: 4)
        a = pgd(eps: 0.1, steps: 1)
        r = recipe(epochs: 1, batch: 4)
        p = pipeline(d, batch: 4)
        ra = randaugment()
        mx = mixup()
        b = d.train.batches(batch: 4)
        f = fn(x) { return x }
        xs = [3, 1, 2]
        rec = {a: 1}
        """

    /// Hostile argument values (source text). Paths are relative or under /nonexistent: the
    /// test runs in a temporary directory, so a builtin that writes files writes there.
    static let pool = [
        "nil", "true", "-1", "0", "1", "2.5", "1e9", "1e18", "-1e18", "1e300", "inf", "-inf", "nan",
        "\"\"", "\"abc\"", "\"/nonexistent/dir/x.bin\"", "[]", "[[]]", "[1, 2]", "[[1, 2], [3]]", "[1, \"a\"]",
        "{a: 1}", "t", "e", "s", "img", "m", "d", "a", "r", "p", "f", "fn() { return 1 }", "print",
        "[-1]", "[0]", "[1e9]", "[nan]", "[inf, 1]",
    ]

    /// A plausible call of each builtin (positional arguments), varied one position at a time.
    static let good: [String: [String]] = [
        "print": ["1"], "help": ["print"], "str": ["1"], "repr": ["1"], "num": ["1"], "int": ["1"], "type": ["1"],
        "format": ["1.5"], "len": ["xs"], "range": ["3"], "append": ["xs", "1"], "push": ["xs", "1"], "pop": ["xs"],
        "insert": ["xs", "0", "1"], "copy": ["xs"], "reverse": ["xs"], "keys": ["rec"], "values": ["rec"],
        "has": ["rec", "\"a\""], "remove": ["rec", "\"b\""], "join": ["xs"], "split": ["\"a b\""], "upper": ["\"a\""],
        "lower": ["\"a\""], "replace": ["\"ab\"", "\"a\"", "\"c\""], "map": ["xs", "f"], "filter": ["xs", "fn(x) { return true }"],
        "enumerate": ["xs"], "zip": ["xs", "xs"], "sort": ["xs"], "sum": ["t"], "abs": ["t"], "sqrt": ["t"], "exp": ["t"],
        "log": ["t"], "floor": ["1.5"], "ceil": ["1.5"], "sin": ["1"], "cos": ["1"], "tanh": ["1"], "round": ["1.5"],
        "min": ["1", "2"], "max": ["1", "2"], "assert": ["true"], "error": ["\"x\""],
        "tensor": ["[1, 2]"], "zeros": ["2", "3"], "ones": ["2", "3"], "rand": ["2", "3"], "randn": ["2", "3"],
        "arange": ["4"], "onehot": ["lab", "3"], "seed": ["1"], "threads": ["2"], "sign": ["t"], "relu": ["t"],
        "gelu": ["t"], "clamp": ["t", "0", "1"], "maximum": ["t", "t"], "minimum": ["t", "t"], "where": ["t", "t", "t"],
        "matmul": ["t", "t.T"], "mean": ["t"], "softmax": ["t"], "log_softmax": ["t"], "norm": ["t"],
        "cross_entropy": ["t", "lab"], "grad": ["fn(x) { return x.sum() }", "t"], "no_grad": ["fn() { return 1 }"],
        "model": ["\"resnet18\""], "params": ["m"], "flops": ["m"], "save": ["m", "\"/nonexistent/dir/x\""],
        "load_weights": ["m", "\"/nonexistent/x\""], "mnist": ["\"/nonexistent\""], "cifar10": ["\"/nonexistent\""],
        "cifar100": ["\"/nonexistent\""], "image_folder": ["\"/nonexistent\""], "npy": ["\"/nonexistent/a\"", "\"/nonexistent/b\""],
        "synthetic": ["8"], "pipeline": ["d"], "augment": ["img"], "soft_targets": ["lab"], "fgsm": ["0.1"],
        "pgd": ["0.1"], "apgd": ["0.1"], "worst_of": ["a"], "evaluate": ["m", "d"], "sweep": ["m", "d"],
        "table": ["[{clean: 1}]"], "recipe_table": ["[r]"], "fit": ["m", "d"],
    ]
    /// Named arguments every call of a builtin gets (keeps the expensive ones quiet and small).
    static let extraNamed: [String: String] = [
        "soft_targets": "classes: 3", "sweep": "attack: a, eps: [0.1], progress: false, sanity: false",
        "fit": "recipe: r, progress: false", "evaluate": "progress: false, sanity: false",
    ]

    /// Methods of the host objects with their argument names.
    static let methods: [(objects: [String], methods: [(String, [String])])] = [
        (["t", "e", "s", "img"], [("sum", ["dim", "keepdim"]), ("mean", ["dim", "keepdim"]), ("max", ["dim", "keepdim"]),
                                  ("min", ["dim", "keepdim"]), ("argmax", ["dim"]), ("reshape", []), ("flatten", []),
                                  ("item", []), ("tolist", []), ("detach", []), ("abs", []), ("exp", []), ("log", []),
                                  ("sqrt", []), ("sign", []), ("clamp", ["min", "max"]), ("softmax", ["dim"])]),
        (["m", "v"], [("train", []), ("eval", []), ("precision", ["p"]), ("summary", ["image"]), ("flops", [])]),
        (["d.train"], [("subset", ["n", "seed"]), ("split", ["fraction", "seed"]),
                       ("batches", ["batch", "shuffle", "seed", "epoch", "drop_last", "prefetch"])]),
        (["p"], [("batches", ["epoch", "from"]),
                 ("set", ["magnitude", "mstd", "mix_prob", "mixup", "cutmix", "switch", "smoothing", "erasing", "flip"])]),
        (["r"], [("with", ["epochs", "batch", "lr", "warmup_epochs", "mixup", "betas", "grad_clip", "randaugment",
                           "accumulation", "workers", "lr_batch"]), ("augmentation", ["epoch"]), ("lr_at", ["step", "steps_per_epoch"])]),
    ]

    /// Every case, as one line of script code.
    static func cases(_ table: BuiltinTable) -> [String] {
        var out: [String] = []
        for name in table.order where name != "exit" {
            guard let b = table.byName[name] else { continue }
            let good = Self.good[name] ?? []
            func call(_ args: [String], _ named: String? = nil) -> String {
                var parts = args
                if let x = extraNamed[name] { parts.append(x) }
                if let n = named { parts.append(n) }
                return "\(name)(\(parts.joined(separator: ", ")))"
            }
            out.append("\(name)()")
            out.append(call(good))
            out.append(call(good, "bogus: 1"))
            for v in pool {
                out.append("\(name)(\(v))")
                for k in good.indices {
                    var args = good
                    args[k] = v
                    out.append(call(args))
                }
                out.append(call(good + [v]))
                for n in b.declaration.argumentNames where !(extraNamed[name] ?? "").contains("\(n):") {
                    out.append(call(good, "\(n): \(v)"))
                }
            }
        }
        for group in methods {
            for o in group.objects {
                for (name, named) in group.methods {
                    out.append("\(o).\(name)()")
                    for v in pool {
                        out.append("\(o).\(name)(\(v))")
                        out.append("\(o).\(name)(\(v), \(v))")
                        for n in named { out.append("\(o).\(name)(\(n): \(v))") }
                    }
                }
            }
        }
        for shape in ["-1, -1", "1e8, 1e8, 1e8", "1e8, 1e8, 1e8, 1e8", "0, -1", "-1, 0", "6, 0", "1e9, 1e9", "1e12"] {
            out.append("t.reshape(\(shape))")
            out.append("zeros(\(shape))")
        }
        for (o, fields) in [("t", ["shape", "ndim", "T", "grad"]), ("e", ["T"]), ("m", ["name", "classes", "params", "config"]),
                            ("d.train", ["classes", "class_names", "shape", "count"]), ("p", ["batches_per_epoch", "batch", "dataset"]),
                            ("r", ["global_batch", "scaled_lr", "table"]), ("a", ["name", "eps", "steps"]), ("b", ["count"])] {
            for f in fields { out.append("\(o).\(f)") }
        }
        for v in pool {
            for o in ["t", "e", "s", "img"] {
                for op in ["+", "*", "/", "**", "@", "<", "%"] {
                    out.append("\(o) \(op) \(v)")
                    out.append("\(v) \(op) \(o)")
                }
                out.append("\(o)[\(v)]")
                out.append("\(o)[\(v):\(v)]")
                out.append("\(o)[0:\(v)]")
            }
            out += ["m(\(v))", "v(\(v))", "a(m, \(v), lab)", "a(m, img, \(v))", "a(m, img, lab, target: \(v))",
                    "a(m, img, lab, targets: \(v))", "a(\(v), img, lab)", "ra(\(v))", "ra(img, seed: \(v))", "mx(\(v), lab)",
                    "mx(img, \(v))", "mx(img, lab, classes: \(v))", "mx(img, lab, seed: \(v))", "d.train[\(v)]",
                    "d.train[\(v):\(v)]", "b[\(v)]", "len(\(v))", "for q in \(v) { }"]
        }
        for x in ["rand(0, 1, 8, 8)", "rand(2, 1, 0, 0)", "rand(2, 1, 1, 1)", "rand(2, 3, 8, 8)", "rand(2, 1, 9, 9)",
                  "rand(1, 8, 8)", "rand(2, 1, 8, 8, 1)", "rand(8, 8)", "zeros(2, 0, 8, 8)", "rand(2, 1, 64, 1)"] {
            out += ["m(\(x))", "v(\(x))", "a(m, \(x), lab)", "a(m, \(x), 0)", "ra(\(x))", "augment(\(x))",
                    "augment(\(x), crop: \"pad4\")", "augment(\(x), crop: \"random_resized\", size: 4)", "mx(\(x), lab)",
                    "mx(\(x), [0])", "fgsm(eps: 0.1)(v, \(x), 0)", "apgd(eps: 0.1, steps: 1)(m, \(x), lab)",
                    "augment(\(x), randaugment: 9)"]
        }
        return out
    }

    func testEveryBuiltinAndMethodSurvivesHostileArguments() throws {
        let table = Registry.standard()
        let all = BuiltinFuzzTests.cases(table)
        // Every registered builtin is exercised (a new builtin joins automatically).
        for name in table.order where name != "exit" {
            XCTAssertTrue(all.contains { $0.hasPrefix(name + "(") }, "no case calls \(name)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adv-builtin-fuzz-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let oldDir = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(dir.path)
        defer {
            _ = FileManager.default.changeCurrentDirectoryPath(oldDir)
            try? FileManager.default.removeItem(at: dir)
            Interrupt.requested = false
        }
        let interp = Interpreter(output: { _ in })
        var limits = Limits()
        limits.seconds = 2
        limits.collectionSize = 100_000
        limits.callDepth = 100
        interp.limits = limits
        try interp.run(SourceFile(name: "prelude.adv", text: BuiltinFuzzTests.prelude))
        let names = Set(interp.globals.values.keys)
        var counts = [String: Int]()
        let start = Date()
        let trace = ProcessInfo.processInfo.environment["ADV_FUZZ_TRACE"] != nil
        for code in all {
            if trace { FileHandle.standardError.write(Data("case: \(code)\n".utf8)) }
            // A watchdog stops engine loops (training, attacks) that a huge count would keep busy.
            let watchdog = DispatchWorkItem { Interrupt.requested = true }
            DispatchQueue.global().asyncAfter(deadline: .now() + 2, execute: watchdog)
            // Each case runs with the backend it found (a case may call threads(n)).
            Backend.with({ _ in }) {
                do {
                    try interp.run(SourceFile(name: "case.adv", text: code))
                    counts["ran", default: 0] += 1
                } catch let e as ScriptError {
                    XCTAssertFalse(e.render().isEmpty, code)
                    counts["error", default: 0] += 1
                } catch let d as Diagnostics {
                    XCTFail("case does not parse: \(code): \(d.description)")
                } catch is ExitRequest {
                    counts["exit", default: 0] += 1
                } catch {
                    XCTFail("unexpected error type for \(code): \(error)")
                }
            }
            watchdog.cancel()
            Interrupt.requested = false
            // The session survives: the prelude's variables are all still there.
            XCTAssertTrue(names.isSubset(of: Set(interp.globals.values.keys)), "variables lost after \(code)")
        }
        print("builtin fuzz: \(all.count) cases in \(String(format: "%.1f", Date().timeIntervalSince(start))) s: \(counts.sorted { $0.key < $1.key })")
        XCTAssertGreaterThan(counts["ran", default: 0], all.count / 20)
        XCTAssertGreaterThan(counts["error", default: 0], all.count / 2)
    }

    // MARK: - Regression tests for crashes found by the audit (each used to kill the process)

    func testHugeShapesAreErrorsNotAllocations() {
        XCTAssertTrue(errorLine("zeros(1e12)").contains("dimension 0 is too large"))
        XCTAssertTrue(errorLine("zeros(1e8, 1e8)").contains("too many elements"))
        XCTAssertTrue(errorLine("ones(1e8, 1e8, 1e8)").contains("too many elements"))
        XCTAssertTrue(errorLine("zeros(2, 3).reshape(1e8, 1e8, 1e8, 1e8)").contains("too many elements"))
        XCTAssertTrue(errorLine("onehot([1], 1e12)").contains("too many elements"))
        XCTAssertTrue(errorLine("soft_targets([1], classes: 1e12)").contains("too many elements"))
        XCTAssertTrue(errorLine("mixup()(rand(2, 1, 4, 4), [0, 1], classes: 1e12)").contains("too many elements"))
        XCTAssertEqual(output("print(zeros(0, 3).shape, zeros(2, 3).reshape(-1, 2).shape)"), "[0, 3] [3, 2]\n")
    }

    func testTargetErrorsNameTheBuiltin() {
        // The size check used to come from the engine as "targets for ... classes: ...", without the builtin's name.
        XCTAssertTrue(errorLine("soft_targets([1], classes: 1e12)").contains("error: soft_targets: targets for 1000000000000 classes"))
        XCTAssertTrue(errorLine("soft_targets([0, 5], classes: 3)").contains("error: soft_targets: label 5 is out of range for 3 classes"))
        XCTAssertTrue(errorLine("soft_targets([0, 1], classes: 3, smoothing: 2)").contains("error: soft_targets: smoothing must be in [0, 1), got 2"))
        XCTAssertTrue(errorLine("mixup()(rand(2, 1, 4, 4), [0, 1], classes: 1e12)").contains("error: Mixup: targets for"))
        XCTAssertTrue(errorLine("mixup()(rand(2, 1, 4, 4), [0, 7], classes: 3)").contains("error: Mixup: label 7 is out of range"))
        XCTAssertEqual(output("print(soft_targets([1], classes: 2, smoothing: 0.5))"), output("print(tensor([[0.25, 0.75]]))"))
    }

    func testHugeIndicesAreErrors() {
        XCTAssertTrue(errorLine("t = zeros(2, 3)\nt[1e300]").contains("out of range"))
        XCTAssertTrue(errorLine("t = zeros(2, 3)\nt[-1e300]").contains("out of range"))
        XCTAssertTrue(errorLine("d = synthetic(n: 8, image: 8)\nd.train[1e300]").contains("out of range"))
        XCTAssertTrue(errorLine("d = synthetic(n: 8, image: 8)\nd.train.batches(batch: 4)[1e300]").contains("whole number"))
    }

    func testTableRejectsHugeParams() {
        XCTAssertTrue(errorLine("table([{clean: 1, params: 1e300}])").contains("'params'"))
        XCTAssertTrue(errorLine("table([{clean: 1, params: (1e308 * 10) - (1e308 * 10)}])").contains("'params'"))
    }

    func testModelChannelsCheckedBeforeUse() {
        XCTAssertTrue(errorLine("model(\"resnet18\", channels: -1)").contains("channels must be 1...64"))
        XCTAssertTrue(errorLine("model(\"resnet18\", channels: 1e14, mean: [0.5])").contains("channels must be 1...64"))
    }

    func testDeeplyNestedValuesAreFreedWithoutRecursion() {
        XCTAssertEqual(output("xs = []\nfor i in range(300000) { xs = [xs] }\nr = {a: 1}\nfor i in range(300000) { r = {a: r, b: [r]} }\nprint(1)"), "1\n")
    }

    func testHugeCountsInStringsAndRangesAreErrors() {
        XCTAssertTrue(errorLine("arange(0, 1e300, step: 1e-300)").contains("too many"))
        XCTAssertTrue(errorLine("augment(rand(1, 4, 4), randaugment: \"rand-m9-n1e300-inc1\")").contains("number of ops"))
    }

    func testAttacksRefuseUnallocatableWork() {
        let pre = "m = model(\"resnet18\", image: 8, channels: 1, classes: 3, params: 3000)\nx = rand(2, 1, 8, 8)\n"
        // restarts is limited (AttackLimits); within the limit, batched restarts are size-checked.
        XCTAssertTrue(errorLine(pre + "pgd(eps: 0.1, steps: 1, restarts: 1e9, batched: \"batched\")(m, x, [0, 1])").contains("restarts must be at most 10000"))
    }

    func testRecipeCountsCannotOverflow() {
        XCTAssertTrue(errorLine("recipe(epochs: 1e14, batch: 1e14, workers: 1e14, accumulation: 1e14).global_batch").contains("at most 1000000"))
        XCTAssertTrue(errorLine("recipe(epochs: 1e6, batch: 4).lr_at(1, steps_per_epoch: 1e14)").contains("too many steps"))
        XCTAssertTrue(errorLine("recipe(randaugment: \"rand-n1e19-inc1\")").contains("1...16"))
    }

    func testWholeNumberArgumentsTooLargeSayWhy() {
        XCTAssertTrue(errorLine("seed(1e30)").contains("too large"))
    }
}
