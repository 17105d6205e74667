import Foundation
import XCTest
import Lang
@testable import Runtime

/// Random and mutated programs through the lexer, parser and interpreter: nothing may crash.
/// 100,000 cases in release builds (10,000 in debug); ADV_FUZZ_CASES=N overrides.
final class FuzzTests: XCTestCase {
    struct RNG {
        var s: UInt64
        mutating func next() -> UInt64 {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            return s
        }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
        mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }
    }

    static let corpus: [String] = [
        "x = 3\ny = 0.5\nprint(x, y, x * y, x / 4, 2 ** 10, 7 % 3, 4/255)",
        "fn fib(n) {\n  if n < 2 { return n }\n  return fib(n - 1) + fib(n - 2)\n}\nprint(fib(10))",
        "fn make(start = 0) {\n  state = {n: start}\n  return fn(step = 1) { state.n += step; return state.n }\n}\nc = make(1)\nc()\nprint(c(2))",
        "total = 0\nfor i in range(1, 20) {\n  if i % 2 == 0 { continue }\n  if i > 11 { break }\n  total += i\n}\nprint(total)",
        "n = 27\nwhile n != 1 { if n % 2 == 0 { n = n / 2 } else { n = 3 * n + 1 } }",
        "r = {model: \"x\", clean: 67.38}\nr.drop = round((r.clean - 1) / r.clean * 100)\nprint(\"{r.model}: {r}\", keys(r))",
        "xs = [1, \"two\", true, nil, [3, 4]]\nprint(xs[1:3], xs[-1][0], len(xs), 3 in xs)\nxs[0] = xs\nappend(xs, xs)",
        "rows = []\nfor eps in [0, 1, 2] { rows = rows + [{eps: \"{eps}/255\", acc: 100 - eps}] }\nprint(sort(rows, key: fn(r) { return r.acc }))",
        "print(map(range(5), fn(x) { return x * x }), filter([1, 2, 3], fn(x) { return x > 1 }))",
        "s = \"\"\nfor c in \"hello\" { s = s + upper(c) }\nprint(s, split(\"a b\"), join([1, 2], sep: \",\"))",
        "fn f(a, b = a * 2) { return [a, b] }\nprint(f(1), f(b: 3, a: 1), help(f), type(f))",
        "x = [1]\nwhile true { x = x + x }",
        "fn r(n) { return r(n + 1) }\nr(0)",
        "use nothing\nuse \"missing.adv\" as m",
        "print(\"{1 + {a: 2}.a} {[1, [2, [3]]]} \\{x\\}\")",
    ]

    static let tokens: [String] = [
        "x", "y", "f", "r", "xs", "print", "len", "range", "map", "sort", "help", "str", "exit", "error", "assert",
        "fn", "return", "if", "else", "for", "in", "while", "break", "continue", "true", "false", "nil",
        "and", "or", "not", "use", "0", "1", "2.5", "1e308", "-1", "1e-3", "\"s\"", "\"{x}\"", "\"{\"", "\"",
        "+", "-", "*", "/", "%", "**", "@", "==", "!=", "<", "<=", ">", ">=", "=", "+=", "(", ")", "[", "]",
        "{", "}", ",", ":", ".", ";", "\n", " ", "#c\n", "\\\n", "é", "\u{0}", "a:", "xs[0]", "r.a",
    ]

    /// A random small program from a grammar (statements that usually parse).
    static func program(_ g: inout RNG, depth: Int = 0) -> String {
        func expr(_ d: Int) -> String {
            if d > 3 { return g.pick(["x", "1", "2", "\"s\"", "xs", "r", "nil", "true"]) }
            switch g.int(12) {
            case 0: return "\(expr(d + 1)) \(g.pick(["+", "-", "*", "/", "%", "**", "==", "<", "and", "or", "in"])) \(expr(d + 1))"
            case 1: return "[\(expr(d + 1)), \(expr(d + 1))]"
            case 2: return "{a: \(expr(d + 1)), b: \(expr(d + 1))}"
            case 3: return "\(g.pick(["f", "len", "str", "print", "range", "sort", "g", "abs", "min"]))(\(expr(d + 1)))"
            case 4: return "\(expr(d + 1))[\(expr(d + 1))]"
            case 5: return "\(expr(d + 1))[\(g.pick(["", "1", "-1"])):\(g.pick(["", "2", "x"]))]"
            case 6: return "fn(a, b = 1) { return a + \(expr(d + 1)) }"
            case 7: return "\"v{\(expr(d + 1))}\""
            case 8: return "not \(expr(d + 1))"
            case 9: return "-\(expr(d + 1))"
            case 10: return "\(expr(d + 1)).\(g.pick(["a", "b", "c"]))"
            default: return g.pick(["x", "y", "0", "3", "0.5", "xs", "r", "\"txt\"", "f", "true", "nil"])
            }
        }
        var lines: [String] = ["x = 1", "xs = [1, 2, 3]", "r = {a: 1, b: 2}", "fn f(n) { return n }"]
        for _ in 0..<(1 + g.int(8)) {
            let body = depth < 2 ? program(&g, depth: depth + 1) : "x = x + 1"
            switch g.int(9) {
            case 0: lines.append("x = \(expr(0))")
            case 1: lines.append("if \(expr(0)) { \(body) } else { y = \(expr(0)) }")
            case 2: lines.append("for i in \(expr(0)) {\n\(body)\n}")
            case 3: lines.append("while \(expr(0)) {\n\(body)\n\(g.pick(["break", "continue", "x = x + 1"]))\n}")
            case 4: lines.append("fn g(a, b = 2) {\n\(body)\nreturn \(expr(0))\n}")
            case 5: lines.append("print(\(expr(0)), \(expr(0)))")
            case 6: lines.append("r.\(g.pick(["a", "c"])) = \(expr(0))")
            case 7: lines.append("xs[\(expr(0))] = \(expr(0))")
            default: lines.append("x += \(expr(0))")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func mutate(_ s: String, _ g: inout RNG) -> [UInt8] {
        var b = Array(s.utf8)
        for _ in 0..<(1 + g.int(4)) {
            switch g.int(6) {
            case 0 where !b.isEmpty: b.remove(at: g.int(b.count))
            case 1: b.insert(UInt8(truncatingIfNeeded: g.next()), at: g.int(b.count + 1))
            case 2 where b.count > 2:
                let i = g.int(b.count - 1), n = 1 + g.int(min(20, b.count - i - 1))
                b.insert(contentsOf: b[i..<i + n], at: g.int(b.count + 1))
            case 3 where b.count > 2:
                let i = g.int(b.count - 1), n = 1 + g.int(min(20, b.count - i - 1))
                b.removeSubrange(i..<i + n)
            case 4: b.insert(contentsOf: Array(g.pick(tokens).utf8), at: g.int(b.count + 1))
            default: if !b.isEmpty { b[g.int(b.count)] = g.pick(Array("(){}[]\"\n,:=.+-".utf8)) }
            }
        }
        return b
    }

    func testRandomAndMutatedProgramsNeverCrash() {
        let env = ProcessInfo.processInfo.environment["ADV_FUZZ_CASES"].flatMap { Int($0) }
        #if DEBUG
        let cases = env ?? 10_000
        #else
        let cases = env ?? 100_000
        #endif
        // The language core only: domain builtins (models, data) allocate too much for fuzzing.
        var table = BuiltinTable()
        CoreBuiltins.register(into: &table)
        var limits = Limits()
        limits.steps = 2_000
        limits.seconds = 0.2
        limits.collectionSize = 1_000
        limits.callDepth = 150
        var g = RNG(s: 0x9E3779B97F4A7C15)
        var counts = [String: Int]()
        let start = Date()
        let interp = Interpreter(builtins: table, output: { _ in })
        interp.limits = limits
        for i in 0..<cases {
            let bytes: [UInt8]
            switch i % 4 {
            case 0: bytes = Array((0..<(1 + g.int(40))).map { _ in g.pick(FuzzTests.tokens) }.joined(separator: g.pick([" ", "", "\n"])).utf8)
            case 1: bytes = FuzzTests.mutate(g.pick(FuzzTests.corpus), &g)
            case 2: bytes = Array(FuzzTests.program(&g).utf8)
            default: bytes = FuzzTests.mutate(FuzzTests.program(&g), &g)
            }
            let source: SourceFile
            do {
                source = try SourceLoader.decode(bytes, name: "fuzz.adv")
            } catch {
                counts["bad encoding", default: 0] += 1
                continue
            }
            // A fresh session now and then; otherwise state carries over like a long REPL session.
            let session = i % 50 == 0 ? Interpreter(builtins: table, output: { _ in }) : interp
            session.limits = limits
            do {
                try session.run(source)
                counts["ran", default: 0] += 1
            } catch let d as Diagnostics {
                XCTAssertFalse(d.description.isEmpty)
                counts["syntax error", default: 0] += 1
            } catch let e as ScriptError {
                XCTAssertFalse(e.render().isEmpty)
                counts["runtime error", default: 0] += 1
            } catch is ExitRequest {
                counts["exit", default: 0] += 1
            } catch {
                counts["other error", default: 0] += 1
            }
            interp.globals.values = interp.globals.values.filter { $0.key == "args" || $0.key.count < 3 }
        }
        let seconds = Date().timeIntervalSince(start)
        print("fuzz: \(cases) cases in \(String(format: "%.1f", seconds)) s: \(counts.sorted { $0.key < $1.key })")
        // Every kind of outcome must have been exercised.
        XCTAssertGreaterThan(counts["ran", default: 0], cases / 100)
        XCTAssertGreaterThan(counts["syntax error", default: 0], cases / 20)
        XCTAssertGreaterThan(counts["runtime error", default: 0], cases / 100)
    }
}
