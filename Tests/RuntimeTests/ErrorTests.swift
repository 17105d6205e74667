import XCTest
import Engine
import Tensor
import Lang
@testable import Runtime

final class ErrorTests: XCTestCase {
    func testUnknownNameSuggestsNearest() {
        XCTAssertEqual(errorLine("pirnt(1)"), "t.adv:1:1: error: unknown name 'pirnt'; did you mean 'print'?")
        XCTAssertEqual(errorLine("learning_rate = 1\nx = learning_rat + 1"), "t.adv:2:5: error: unknown name 'learning_rat'; did you mean 'learning_rate'?")
        XCTAssertEqual(errorLine("r = {alpha: 1}\nr.alpah"), "t.adv:2:3: error: the record has no field 'alpah'; did you mean 'alpha'? (fields: alpha)")
    }

    func testFullDiagnosticWithCaretAndTraceback() {
        let (_, err) = runScript("""
        fn divide(a, b) {
          return a / b
        }
        fn outer(x) { return divide(x, 0) }
        outer(3)
        """)
        XCTAssertEqual(err, """
        t.adv:2:10: error: division by zero
          return a / b
                 ^~~~~
        t.adv:4:22: note: in 'divide', called from here
        t.adv:5:1: note: in 'outer', called from here
        """)
    }

    func testValueErrors() {
        XCTAssertEqual(errorLine("x = 1 % 0"), "t.adv:1:5: error: modulo by zero")
        XCTAssertEqual(errorLine("xs = [1, 2, 3]\nxs[3]"), "t.adv:2:1: error: index 3 out of range for a list of length 3")
        XCTAssertEqual(errorLine("xs = [1]\nxs[-2] = 1"), "t.adv:2:1: error: index -2 out of range for a list of length 1")
        XCTAssertEqual(errorLine("\"ab\"[1.5]"), "t.adv:1:1: error: a string index must be a whole number, got 1.5")
        XCTAssertEqual(errorLine("pop([])"), "t.adv:1:1: error: pop: the list is empty")
        XCTAssertEqual(errorLine("num(\"abc\")"), "t.adv:1:1: error: num: \"abc\" is not a number")
    }

    func testTypeErrors() {
        XCTAssertEqual(errorLine("x = \"a\" + 1"), "t.adv:1:5: error: cannot apply '+' to string and number (build strings with \"...{x}...\" or str(x))")
        XCTAssertEqual(errorLine("if 1 { }"), "t.adv:1:4: error: the condition of 'if' must be true or false, got number")
        XCTAssertEqual(errorLine("x = 1 and true"), "t.adv:1:5: error: 'and' needs true or false, got number")
        XCTAssertEqual(errorLine("x = 3\nx(1)"), "t.adv:2:1: error: a number is not callable")
        XCTAssertEqual(errorLine("for x in 3 { }"), "t.adv:1:10: error: cannot loop over a number; use range(n)")
        XCTAssertEqual(errorLine("x = 1\nx.y = 2"), "t.adv:2:3: error: cannot set field 'y' on a number (only records have settable fields)")
    }

    func testArgumentErrors() {
        XCTAssertEqual(errorLine("fn f(a, b) { return a }\nf(1)"), "t.adv:2:1: error: f: missing argument 'b'")
        XCTAssertEqual(errorLine("fn f(a) { return a }\nf(1, 2)"), "t.adv:2:1: error: f takes 1 argument, got 2")
        XCTAssertEqual(errorLine("fn f(alpha) { return 1 }\nf(alpah: 1)"), "t.adv:2:1: error: f has no parameter named 'alpah'; did you mean 'alpha'?")
        XCTAssertEqual(errorLine("fn f(a) { return 1 }\nf(1, a: 2)"), "t.adv:2:1: error: f: argument 'a' given both by position and by name")
        XCTAssertEqual(errorLine("range(3, stpe: 2)"), "t.adv:1:1: error: range has no argument named 'stpe'; did you mean 'step'? (arguments: start, stop, step)")
        XCTAssertEqual(errorLine("len()"), "t.adv:1:1: error: len: missing argument 'x'")
        XCTAssertEqual(errorLine("round(\"a\")"), "t.adv:1:1: error: round: argument 'x' must be a number, got string")
    }

    func testDeepRecursionIsAnError() {
        let (_, err) = runScript("fn down(n) { return down(n + 1) }\ndown(0)")
        XCTAssertTrue(err?.hasPrefix("t.adv:1:21: error: recursion too deep (more than 800 nested calls of script functions)") == true, err ?? "")
        XCTAssertTrue(err?.contains("note: in 'down', called from here (799 times)") == true, err ?? "")
        // Mutual recursion through a builtin (map) is limited too.
        let (_, err2) = runScript("fn f(x) { return map([x], f) }\nf(1)")
        XCTAssertTrue(err2?.contains("recursion too deep") == true, err2 ?? "")
    }

    func testStepAndTimeLimits() {
        var l = Limits()
        l.steps = 1000
        let (_, err) = runScript("while true { }", limits: l)
        XCTAssertTrue(err?.contains("step limit exceeded") == true, err ?? "")
        var t = Limits()
        t.seconds = 0.2
        let (_, err2) = runScript("while true { }", limits: t)
        XCTAssertTrue(err2?.contains("time limit exceeded") == true, err2 ?? "")
        var c = Limits()
        c.collectionSize = 1000
        let (_, err3) = runScript("x = [1]\nwhile true { x = x + x }", limits: c)
        XCTAssertTrue(err3?.contains("list too long") == true, err3 ?? "")
    }

    func testInterruptFlagStopsLoops() {
        let interp = Interpreter(output: { _ in })
        Engine_setInterrupt(true)
        XCTAssertThrowsError(try interp.run(SourceFile(name: "i", text: "while true { }"))) { e in
            guard let s = e as? ScriptError, case .interrupted = s.error else { return XCTFail("\(e)") }
        }
        // State survives: the session keeps working.
        XCTAssertNoThrow(try interp.run(SourceFile(name: "i", text: "x = 1")))
    }

    func testSyntaxErrorsAreReportedTogether() {
        let (_, err) = runScript("x = = 1\ny = (2\nz = 3")
        XCTAssertTrue(err?.hasPrefix("t.adv:1:5: error: expected an expression, found '='") == true, err ?? "")
    }

    func testNonUTF8AndBinaryFiles() {
        XCTAssertThrowsError(try SourceLoader.decode([0x78, 0x3D, 0x0A, 0x22, 0xFF, 0x22], name: "b.adv")) { e in
            XCTAssertEqual("\(e)", "b.adv:2:2: error: the file is not valid UTF-8 (byte 0xFF)\n\"\u{FFFD}\"\n ^")
        }
        XCTAssertThrowsError(try SourceLoader.decode([0x7F, 0x45, 0x4C, 0x46, 0x00, 0x01], name: "a.out")) { e in
            XCTAssertEqual("\(e)", "a.out:1:5: error: this is a binary file, not a script (NUL byte)\n\u{2421}ELF\u{2400}\u{2401}\n    ^")
        }
        XCTAssertNoThrow(try SourceLoader.decode(Array("x = \"héllo ✓\"".utf8), name: "ok.adv"))
    }
}



func Engine_setInterrupt(_ v: Bool) { Interrupt.requested = v }
