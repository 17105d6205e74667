import XCTest
import Lang
@testable import Runtime

final class InterpreterTests: XCTestCase {
    func testArithmeticAndNumberFormatting() {
        XCTAssertEqual(output("print(1 + 2, 7 / 2, 2 ** 10, -7 % 3, 7 % -3, 4/255)"), "3 3.5 1024 2 -2 0.01568627450980392\n")
        XCTAssertEqual(output("print(0.1 + 0.2, 1e-3, 1e20, 3.0, -0.0, 1/3)"), "0.30000000000000004 0.001 1e+20 3 0 0.3333333333333333\n")
        XCTAssertEqual(output("print(2 ** -1, 10 - 2 - 3, (1 + 2) * 3)"), "0.5 5 9\n")
    }

    func testStringsAndInterpolation() {
        XCTAssertEqual(output("name = \"adv\"; n = 3\nprint(\"{name} has {n * 2} things, {[1, \"a\"]}\")"), "adv has 6 things, [1, \"a\"]\n")
        XCTAssertEqual(output("print(\"a\" + \"b\", \"abc\"[1], \"hello\"[1:3], \"x\" < \"y\", len(\"héllo\"))"), "ab b el true 5\n")
        XCTAssertEqual(output("print(\"\\{not code\\}\")"), "{not code}\n")
    }

    func testListsRecordsAndSharing() {
        XCTAssertEqual(output("""
        xs = [1, 2, 3]
        ys = xs
        append(ys, 4)
        xs[0] = 10
        print(xs, len(xs), xs[-1], xs[1:3], xs[:2], xs[2:], 3 in xs)
        r = {a: 1, b: {c: [1, 2]}}
        r.a += 5
        r.d = "new"
        r["e"] = nil
        print(r, r.b.c[1], keys(r), "a" in r)
        print([1, [2]] == [1, [2]], {a: 1} == {a: 1}, {a: 1} != {a: 2})
        """), """
        [10, 2, 3, 4] 4 4 [2, 3] [10, 2] [3, 4] true
        {a: 6, b: {c: [1, 2]}, d: "new", e: nil} 2 ["a", "b", "d", "e"] true
        true true true

        """)
    }

    func testControlFlow() {
        XCTAssertEqual(output("""
        total = 0
        for i in range(10) {
          if i == 2 { continue }
          if i == 6 { break }
          total += i
        }
        n = 0
        while n < 5 { n = n + 2 }
        s = ""
        for c in "abc" { s = s + upper(c) }
        for k in {x: 1, y: 2} { s = s + k }
        print(total, n, s, i)
        if false { print("no") } else if 1 > 2 { print("no") } else { print("else") }
        """), "13 6 ABCxy 6\nelse\n")
    }

    func testFunctionsDefaultsNamedArgsClosures() {
        XCTAssertEqual(output("""
        fn scale(x, by = 2, shift = 0) { return x * by + shift }
        print(scale(3), scale(3, 10), scale(3, shift: 1), scale(x: 1, by: 5))
        fn counter() {
          state = {n: 0}
          return fn() { state.n += 1; return state.n }
        }
        c = counter()
        c(); c()
        print(c())
        fn fib(n) { if n < 2 { return n }; return fib(n - 1) + fib(n - 2) }
        print(fib(20))
        add = fn(a, b) { return a + b }
        print(map([1, 2, 3], fn(x) { return x * x }), add(1, 2), add)
        fn noreturn() { x = 1 }
        print(noreturn())
        """), "6 30 7 5\n3\n6765\n[1, 4, 9] 3 <fn add(a, b)>\nnil\n")
    }

    func testScopesAreFunctionLevel() {
        XCTAssertEqual(output("""
        x = 1
        fn f() { x = 2; return x }
        print(f(), x)
        fn g() { return x + 1 }
        print(g())
        for i in range(2) { inner = i }
        print(inner)
        """), "2 1\n2\n1\n")
    }

    func testCoreBuiltins() {
        XCTAssertEqual(output("""
        print(len([1, 2]), len({a: 1}), range(2, 8, step: 3), range(3, 0, step: -1), str(1.5) + "!", num("1e-3"), int(-3.7), type([]), type(print))
        print(sort([3, 1, 2]), sort(["b", "a"], reverse: true), sort([[2, "b"], [1, "a"]], key: fn(p) { return p[0] }))
        print(min(3, 1, 2), max([4, 9, 2]), abs(-2), sqrt(16), floor(2.7), ceil(2.1), round(2.5), round(3.14159, digits: 2))
        print(join(["a", 1, true], sep: "-"), split("a b  c"), split("a,b", sep: ","), format(2 / 3, digits: 3))
        xs = [1, 2, 3]
        print(pop(xs), xs, filter([1, 2, 3, 4], fn(x) { return x % 2 == 0 }), enumerate(["a"]), zip([1, 2], ["x"]), sum([1, 2, 3.5]))
        print(repr("q"), reverse([1, 2]), has({a: 1}, "a"), copy([1]) == [1])
        """), """
        2 1 [2, 5] [3, 2, 1] 1.5! 0.001 -3 list builtin
        [1, 2, 3] ["b", "a"] [[1, "a"], [2, "b"]]
        1 9 2 4 2 3 3 3.14
        a-1-true ["a", "b", "c"] ["a", "b"] 0.667
        3 [1, 2] [2, 4] [[0, "a"]] [[1, "x"]] 6.5
        "q" [2, 1] true true

        """)
    }

    func testArgsAndPrintOptions() {
        let (out, err) = runScript("print(args, sep: \",\")\nprint(1, 2, sep: \"+\", end: \"=3\\n\")", args: ["a", "b"])
        XCTAssertNil(err)
        XCTAssertEqual(out, "[\"a\", \"b\"]\n1+2=3\n")
    }

    func testNestingLimitInPrinting() {
        let out = output("x = [] \nfor i in range(20) { x = [x] }\nprint(x)")
        XCTAssertEqual(out, "[[[[[[[...]]]]]]]\n")
        let long = output("print(range(150))")
        XCTAssertTrue(long.hasSuffix("99, ... (50 more)]\n"), long)
    }

    func testHelp() {
        let out = output("help(len)\nhelp(\"range\")\nfn f(a, b = 2) { return a }\nhelp(f)")
        XCTAssertTrue(out.hasPrefix("len(x)\n  The number of items"), out)
        XCTAssertTrue(out.contains("range(start = 0, stop, step = 1)\n"), out)
        XCTAssertTrue(out.contains("f(a, b = 2)\n  defined at t.adv:3:1"), out)
        let all = output("help()")
        XCTAssertTrue(all.contains("print") && all.contains("range"), all)
    }

    /// The `#` lines directly above `fn` are the function's docstring; a blank line or code
    /// ends it; a closure bound with `name = fn(...)` gets the comment above that line.
    func testHelpShowsDocComments() {
        let code = """
            # unrelated header

            # Squares a number.
            #   sq(3) is 9
            fn sq(x) { return x * x }
            x = 1
            fn plain(a) { return a }
            # Doubles.
            double = fn(v) { return 2 * v }
            help(sq)
            help(plain)
            help(double)
            """
        let out = output(code)
        XCTAssertTrue(out.contains("sq(x)\n  Squares a number.\n    sq(3) is 9\n  defined at t.adv:5:1\n"), out)
        XCTAssertFalse(out.contains("unrelated"), out)
        XCTAssertTrue(out.contains("plain(a)\n  defined at t.adv:7:1\n"), out)
        XCTAssertTrue(out.contains("double(v)\n  Doubles.\n"), out)
    }

    /// Stdlib functions document themselves: help(recipes.study) shows the comment above it.
    func testHelpOnStdlibFunction() throws {
        let stdlib = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("stdlib").path
        let (out, err) = runScript("use \"\(stdlib)/recipes.adv\"\nhelp(recipes.study)")
        XCTAssertNil(err)
        XCTAssertTrue(out.hasPrefix("study(arch, epochs = 3, batch = 128, workers = ranks())\n  The study's recipe for `arch`"), out)
    }

    func testEveryCoreBuiltinHasSignatureAndDoc() {
        var t = BuiltinTable()
        CoreBuiltins.register(into: &t)
        for n in t.order {
            guard let b = t.byName[n] else { XCTFail("missing \(n)"); continue }
            XCTAssertTrue(b.signature.hasPrefix(n.split(separator: ".").last.map(String.init) ?? n), "signature of \(n): \(b.signature)")
            XCTAssertGreaterThan(b.doc.count, 10, "doc of \(n)")
        }
        let md = BuiltinsMarkdown.generate(Registry.standard())
        XCTAssertTrue(md.contains("## print\n\n```\nprint(values..., sep: \" \", end: \"\\n\", all: false)\n```"), md)
    }
}
