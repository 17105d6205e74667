import XCTest
@testable import Lang

final class ParserTests: XCTestCase {
    func parse(_ text: String) -> String {
        let (stmts, diags) = Parser.parse(SourceFile(name: "t.adv", text: text))
        XCTAssertEqual(diags.map { $0.render(showSource: false) }, [], text)
        return ASTPrinter.dump(stmts)
    }

    func errors(_ text: String) -> [String] {
        Parser.parse(SourceFile(name: "t.adv", text: text)).diagnostics.map { $0.render(showSource: false) }
    }

    func testPrecedence() {
        XCTAssertEqual(parse("1 + 2 * 3 ** 2 ** 2"), "(+ 1 (* 2 (** 3 (** 2 2))))")
        XCTAssertEqual(parse("-2 ** 2"), "(- (** 2 2))")
        XCTAssertEqual(parse("-x * y"), "(* (- x) y)")
        XCTAssertEqual(parse("not a == b and c or d"), "(or (and (not (== a b)) c) d)")
        XCTAssertEqual(parse("a - b - c"), "(- (- a b) c)")
        XCTAssertEqual(parse("x @ w + b"), "(+ (@ x w) b)")
        XCTAssertEqual(parse("4/255"), "(/ 4 255)")
        XCTAssertEqual(parse("1 in xs"), "(in 1 xs)")
    }

    func testPostfixAndCalls() {
        XCTAssertEqual(parse("pgd(eps: 4/255, step: 1/255, steps: 5)"),
                       "(call pgd eps:(/ 4 255) step:(/ 1 255) steps:5)")
        XCTAssertEqual(parse("m(x).argmax(1)[0]"), "(index (call (. (call m x) argmax) 1) 0)")
        XCTAssertEqual(parse("t[0:8]; t[:2]; t[1:]; t[:]"), "(slice t 0 8)\n(slice t _ 2)\n(slice t 1 _)\n(slice t _ _)")
        XCTAssertEqual(parse("f(1, 2,)"), "(call f 1 2)")
    }

    func testLiterals() {
        XCTAssertEqual(parse("[1, \"a\", true, nil, [ ]]"), "(list 1 \"a\" true nil (list))")
        XCTAssertEqual(parse("r = {name: \"x\", \"k y\": 2,\n  n: {}}"), "(= r (record name:\"x\" k y:2 n:(record)))")
        XCTAssertEqual(parse("\"a {x + 1} b {f(\"q\")}\""), "(str \"a \" (+ x 1) \" b \" (call f \"q\"))")
        XCTAssertEqual(parse("f = fn(x, y = 2) { return x + y }"), "(= f (fn _ (x (y 2)) (block (return (+ x y)))))")
    }

    func testStatements() {
        let src = """
        use recipes
        use "lib/helpers.adv" as h
        fn fib(n) {
          if n < 2 { return n } else if n == 2 { return 1 }
          else { return fib(n - 1) + fib(n - 2) }
        }
        for i in range(3) { if i == 1 { continue }; print(i) }
        while true { break }
        x += 1
        r.a = 2; xs[0] *= 3
        """
        XCTAssertEqual(parse(src), """
        (use recipes)
        (use "lib/helpers.adv" as h)
        (fn fib (n) (block (if (< n 2) (block (return n)) (== n 2) (block (return 1)) else (block (return (+ (call fib (- n 1)) (call fib (- n 2))))))))
        (for i (call range 3) (block (if (== i 1) (block (continue))) (call print i)))
        (while true (block (break)))
        (+= x 1)
        (= (. r a) 2)
        (*= (index xs 0) 3)
        """)
    }

    func testLineContinuationAfterOperator() {
        XCTAssertEqual(parse("x = 1 +\n  2"), "(= x (+ 1 2))")
    }

    func testRecoveryReportsSeveralErrors() {
        let e = errors("""
        x = 1 +
        fn f(a, a) { return }
        y = 2
        z = [1, 2
        """)
        XCTAssertEqual(e, [
            "t.adv:2:9: error: duplicate parameter 'a'",
            "t.adv:4:5: error: '[' is never closed (expected ']' to close the list)",
            "t.adv:4:10: note: the parser gave up here, at end of input",
        ])
        let e2 = errors("a = \nb = 1 +* 2\nc = )\nd = 1")
        XCTAssertEqual(e2, [
            "t.adv:1:5: error: expected an expression, found end of line",
            "t.adv:2:8: error: expected an expression, found '*'",
            "t.adv:3:5: error: expected an expression, found ')'",
        ])
    }

    func testErrorsInsideBlocksRecover() {
        let e = errors("fn f() {\n  x = = 1\n  y = 2 3\n}\nbreak\nreturn 1\n")
        XCTAssertEqual(e, [
            "t.adv:2:7: error: expected an expression, found '='",
            "t.adv:3:9: error: expected end of line after the statement, found number 3",
            "t.adv:5:1: error: 'break' outside a loop",
            "t.adv:6:1: error: 'return' outside a function",
        ])
    }

    func testSpecificMessages() {
        XCTAssertEqual(errors("f(a: 1, 2)"), ["t.adv:1:9: error: positional argument after a named one (positional arguments come first)"])
        XCTAssertEqual(errors("f(a: 1, a: 2)"), ["t.adv:1:9: error: argument 'a' given twice"])
        XCTAssertEqual(errors("fn f(a = 1, b) {}"), ["t.adv:1:13: error: parameter 'b' needs a default value because an earlier one has one"])
        XCTAssertEqual(errors("1 = x"), ["t.adv:1:1: error: cannot assign to this expression (only to a name, a field or an element)"])
        XCTAssertEqual(errors("if x {\n"), ["t.adv:1:6: error: expected '}' to close the block opened here"])
        XCTAssertEqual(errors("for in xs {}"), ["t.adv:1:5: error: 'in' is a reserved word and cannot be a loop variable name"])
        XCTAssertEqual(errors("x = \"a {1 +} b\""), ["t.adv:1:12: error: expected an expression, found end of input"])
    }

    func testDeepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000)
        let e = errors(deep)
        XCTAssertEqual(e.first?.contains("nesting too deep"), true, "\(e)")
        let blocks = String(repeating: "if true {", count: 3000) + String(repeating: "}", count: 3000)
        XCTAssertEqual(errors(blocks).first?.contains("nesting too deep"), true)
        let unary = String(repeating: "-", count: 10000) + "1"
        XCTAssertEqual(errors(unary).first?.contains("nesting too deep"), true)
    }

    func testIncompleteInput() {
        XCTAssertTrue(Parser.isIncomplete("fn f(x) {\n"))
        XCTAssertTrue(Parser.isIncomplete("xs = [1,\n"))
        XCTAssertTrue(Parser.isIncomplete("x = 1 +\n"))
        XCTAssertFalse(Parser.isIncomplete("x = 1\n"))
        XCTAssertFalse(Parser.isIncomplete("f(x))\n"))
        XCTAssertFalse(Parser.isIncomplete("fn f(x) { return x }\n"))
    }
}
