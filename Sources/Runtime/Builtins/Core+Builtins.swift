// Builtins: language core (print, len, range, help, conversions, lists, records, math, time).
import Engine
import Tensor
import Foundation

/// Raised by `exit(code)`; the command line exits with the code, the REPL quits.
public struct ExitRequest: Error {
    public let code: Int32
}

enum CoreBuiltins {
    static func register(into t: inout BuiltinTable) {
        registerIO(into: &t)
        registerConversions(into: &t)
        registerCollections(into: &t)
        registerFunctional(into: &t)
        registerMath(into: &t)
        registerSystem(into: &t)
    }

    // MARK: - Output and help

    static func registerIO(into t: inout BuiltinTable) {
        t.add("print", "print(values..., sep: \" \", end: \"\\n\")",
              doc: """
                  Writes the values to standard output separated by `sep` (a space) and followed by `end` (a
                  newline).

                  Strings print without quotes; lists, records and objects print in their readable form,
                  nested values up to a depth limit.
                  """) { args, ctx in
            let sep = try args.string("sep", default: " ")
            let end = try args.string("end", default: "\n")
            ctx.write(args.positional.map { $0.display() }.joined(separator: sep) + end)
            return .nil_
        }
        t.add("help", "help(name = nil)",
              doc: """
                  Shows the signature and documentation of a builtin, method, function, module or object:
                  `help(pgd)`, `help("pgd")`, `help(t.sum)`.

                  Without an argument, lists every builtin.
                  """) { args, ctx in
            guard let interp = ctx as? Interpreter else { return .nil_ }
            ctx.write(helpText(args.value("name", at: 0), interp) + "\n")
            return .nil_
        }
    }

    /// The text `help(x)` and the REPL's `:help` show.
    static func helpText(_ v: Value?, _ interp: Interpreter) -> String {
        guard let v = v else {
            var out = "Builtins (help(name) shows one):\n"
            var line = " "
            for n in interp.builtins.order.sorted() where !n.contains(".") {
                if line.count + n.count + 1 > 78 { out += line + "\n"; line = " " }
                line += " " + n
            }
            return out + line
        }
        switch v {
        case .builtin(let b): return b.signature + "\n" + wrap(b.doc, indent: "  ")
        case .string(let s):
            if let b = interp.builtins.byName[s] { return helpText(.builtin(b), interp) }
            if let g = interp.globals.values[s] { return helpText(g, interp) }
            var msg = "no builtin named '\(s)'"
            if let n = nearest(s, in: interp.builtins.order) { msg += "; did you mean '\(n)'?" }
            return msg
        case .function(let c):
            let doc = c.docComment.map { "\n" + $0.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n") } ?? ""
            return c.signature + doc + "\n  defined at \(c.decl.span.position)"
        case .module(let m):
            return "module \(m.name) (\(m.path))\n" + wrap(m.exports.joined(separator: ", "), indent: "  ")
        case .object(let o):
            let members = o.memberNames
            return "\(o.describe(depth: 0))\n" + (members.isEmpty ? "" : wrap("members: " + members.joined(separator: ", "), indent: "  "))
        default:
            return "\(v.repr()) is a \(v.typeName)"
        }
    }

    /// Wraps text at 80 columns, paragraph by paragraph (paragraphs are separated by a blank line).
    static func wrap(_ text: String, indent: String) -> String {
        if text.contains("\n\n") {
            return text.components(separatedBy: "\n\n").map { wrap($0, indent: indent) }.joined(separator: "\n\n")
        }
        var lines: [String] = []
        var line = indent
        for w in text.split(separator: " ") {
            if line.count + w.count + 1 > 80 && line != indent { lines.append(line); line = indent }
            line += (line == indent ? "" : " ") + w
        }
        if line != indent { lines.append(line) }
        return lines.joined(separator: "\n")
    }

    // MARK: - Conversions and types

    static func registerConversions(into t: inout BuiltinTable) {
        t.add("str", "str(x)",
              doc: """
                  The text of a value, as `print` shows it: `str(3)` is "3", `str([1, "a"])` is "[1,
                  \\"a\\"]".
                  """) { args, _ in
            guard let v = args.value("x", at: 0) else { throw RuntimeError.arguments("str: missing argument 'x'") }
            return .string(v.display())
        }
        t.add("repr", "repr(x)",
              doc: """
                  The readable form of a value with strings quoted, as the REPL shows it: `repr("a")` is
                  "\\"a\\"".
                  """) { args, _ in
            guard let v = args.value("x", at: 0) else { throw RuntimeError.arguments("repr: missing argument 'x'") }
            return .string(v.repr())
        }
        t.add("num", "num(x)",
              doc: """
                  A number from a number or a string ("0.5", "1e-3", " 42 "); fails with the text when the
                  string is not a number.
                  """) { args, _ in
            return .number(try toNumber(args, "num"))
        }
        t.add("int", "int(x)",
              doc: """
                  The whole number of a number or numeric string, rounding toward zero: `int(3.7)` is 3,
                  `int(-3.7)` is -3, `int("12")` is 12.
                  """) { args, _ in
            let d = try toNumber(args, "int")
            guard d.isFinite else { throw RuntimeError.value("int: cannot convert \(formatNumber(d)) to a whole number") }
            return .number(d.rounded(.towardZero))
        }
        t.add("type", "type(x)",
              doc: """
                  The type name of a value: "nil", "bool", "number", "string", "list", "record", "function",
                  "builtin", "module", or an object's type such as "Tensor" or "Model".
                  """) { args, _ in
            guard let v = args.value("x", at: 0) else { throw RuntimeError.arguments("type: missing argument 'x'") }
            return .string(v.typeName)
        }
        t.add("format", "format(x, digits = 2)",
              doc: """
                  A number as text with a fixed number of digits after the point: `format(0.12345, digits:
                  3)` is "0.123". Useful in tables and log lines.
                  """) { args, _ in
            let x = try args.number("x", at: 0)
            let d = try args.int("digits", at: 1, default: 2)
            guard (0...20).contains(d) else { throw RuntimeError.arguments("format: argument 'digits' must be between 0 and 20, got \(d)") }
            return .string(String(format: "%.\(d)f", x))
        }
    }

    static func toNumber(_ args: Arguments, _ name: String) throws -> Double {
        guard let v = args.value("x", at: 0) else { throw RuntimeError.arguments("\(name): missing argument 'x'") }
        switch v {
        case .number(let d): return d
        case .bool(let b): return b ? 1 : 0
        case .string(let s):
            let trimmed = s.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
            guard let d = Double(trimmed) else { throw RuntimeError.value("\(name): \(quoteString(s)) is not a number") }
            return d
        default:
            throw RuntimeError.type("\(name): argument 'x' must be a number or a string, got \(v.typeName)")
        }
    }

    // MARK: - Lists, strings and records

    static func registerCollections(into t: inout BuiltinTable) {
        t.add("len", "len(x)",
              doc: """
                  The number of items of a list, characters of a string, fields of a record, or elements
                  along the first axis of an object that has a length (a tensor's first dimension, a data
                  set's examples).
                  """) { args, _ in
            guard let v = args.value("x", at: 0) else { throw RuntimeError.arguments("len: missing argument 'x'") }
            switch v {
            case .list(let l): return .number(Double(l.items.count))
            case .string(let s): return .number(Double(s.count))
            case .record(let r): return .number(Double(r.keys.count))
            case .object(let o):
                if let n = o.length { return .number(Double(n)) }
                throw RuntimeError.type("len: a \(o.typeName) has no length")
            default: throw RuntimeError.type("len: argument 'x' must be a list, string, record or object, got \(v.typeName)")
            }
        }
        t.add("range", "range(start = 0, stop, step = 1)",
              doc: """
                  The list of whole numbers from `start` up to but excluding `stop`, `step` apart:
                  `range(3)` is [0, 1, 2], `range(2, 8, step: 3)` is [2, 5].

                  A negative step counts down.
                  """) { args, ctx in
            var start = 0, stop: Int
            if args.positional.count >= 2 || args.has("stop") && (args.positional.count >= 1 || args.has("start")) {
                start = try args.int("start", at: 0)
                stop = try args.int("stop", at: 1)
            } else {
                stop = try args.int("stop", at: 0)
            }
            let step = try args.int("step", at: 2, default: 1)
            guard step != 0 else { throw RuntimeError.arguments("range: argument 'step' must not be 0") }
            let n = step > 0 ? max(0, (stop - start + step - 1) / step) : max(0, (start - stop - step - 1) / -step)
            let limit = (ctx as? Interpreter)?.limits.collectionSize ?? 100_000_000
            guard n <= limit else { throw RuntimeError.value("range: \(n) items is too many (at most \(limit))") }
            var out: [Value] = []
            out.reserveCapacity(n)
            var x = start
            for _ in 0..<n { out.append(.number(Double(x))); x += step }
            return .list(ListBox(out))
        }
        t.add("append", "append(list, value)",
              doc: """
                  Adds `value` to the end of `list`, changing the list in place (every variable holding it
                  sees the change). Returns nil.
                  """) { args, _ in
            let l = try listBox(args, "list", 0)
            guard let v = args.value("value", at: 1) else { throw RuntimeError.arguments("append: missing argument 'value'") }
            l.items.append(v)
            return .nil_
        }
        t.add("push", "push(list, value)", doc: """
            The same as `append(list, value)`: adds `value` to the end of `list` in place. Returns nil.
            """) { args, ctx in
            let l = try listBox(args, "list", 0)
            guard let v = args.value("value", at: 1) else { throw RuntimeError.arguments("push: missing argument 'value'") }
            l.items.append(v)
            return .nil_
        }
        t.add("pop", "pop(list, index = -1)",
              doc: """
                  Removes and returns the item at `index` (the last one by default) from `list`, in place.
                  Fails on an empty list or an index out of range.
                  """) { args, _ in
            let l = try listBox(args, "list", 0)
            guard !l.items.isEmpty else { throw RuntimeError.value("pop: the list is empty") }
            var i = try args.int("index", at: 1, default: -1)
            let n = i
            if i < 0 { i += l.items.count }
            guard i >= 0 && i < l.items.count else { throw RuntimeError.value("pop: index \(n) out of range for a list of length \(l.items.count)") }
            return l.items.remove(at: i)
        }
        t.add("insert", "insert(list, index, value)",
              doc: """
                  Inserts `value` before position `index` of `list`, in place (index may equal the length to
                  append; negative counts from the end). Returns nil.
                  """) { args, _ in
            let l = try listBox(args, "list", 0)
            var i = try args.int("index", at: 1)
            let n = i
            if i < 0 { i += l.items.count }
            guard i >= 0 && i <= l.items.count else { throw RuntimeError.value("insert: index \(n) out of range for a list of length \(l.items.count)") }
            guard let v = args.value("value", at: 2) else { throw RuntimeError.arguments("insert: missing argument 'value'") }
            l.items.insert(v, at: i)
            return .nil_
        }
        t.add("copy", "copy(x)",
              doc: """
                  A shallow copy of a list or record (a new container holding the same items); other values
                  are returned as they are.
                  """) { args, _ in
            guard let v = args.value("x", at: 0) else { throw RuntimeError.arguments("copy: missing argument 'x'") }
            switch v {
            case .list(let l): return .list(ListBox(l.items))
            case .record(let r): return .record(RecordBox(r.keys.compactMap { k in r[k].map { (k, $0) } }))
            default: return v
            }
        }
        t.add("reverse", "reverse(list)", doc: """
            A new list with the items of `list` in reverse order (strings: the reversed string).
            """) { args, _ in
            if case .string(let s)? = args.value("list", at: 0) { return .string(String(s.reversed())) }
            return .list(ListBox(try args.list("list", at: 0).reversed()))
        }
        t.add("keys", "keys(record)", doc: """
            The field names of a record, in the order they were added, as a list of strings.
            """) { args, _ in
            return .list(ListBox(try recordBox(args, "record", 0).keys.map { .string($0) }))
        }
        t.add("values", "values(record)", doc: """
            The field values of a record, in the order their fields were added.
            """) { args, _ in
            let r = try recordBox(args, "record", 0)
            return .list(ListBox(r.keys.compactMap { r[$0] }))
        }
        t.add("has", "has(record, name)", doc: """
            True when the record has a field called `name` (the same as `name in record`).
            """) { args, _ in
            return .bool(try recordBox(args, "record", 0)[try args.string("name", at: 1)] != nil)
        }
        t.add("remove", "remove(record, name)", doc: """
            Removes the field `name` from a record in place and returns its value (nil when it had no such
            field).
            """) { args, _ in
            let r = try recordBox(args, "record", 0)
            let k = try args.string("name", at: 1)
            let v = r[k]
            r[k] = nil
            return v ?? .nil_
        }
        t.add("join", "join(list, sep = \"\")",
              doc: """
                  The items of `list` as text (strings as they are, other values as `str` shows them) joined
                  by `sep`: `join(["a", 1], sep: ", ")` is "a, 1".
                  """) { args, ctx in
            let items = try args.list("list", at: 0).map { $0.display() }
            let sep = try args.string("sep", at: 1, default: "")
            let size = items.reduce(0) { $0 + $1.utf8.count } + sep.utf8.count * Swift.max(0, items.count - 1)
            try checkStringSize(size, "join", ctx)
            return .string(items.joined(separator: sep))
        }
        t.add("split", "split(text, sep = nil)",
              doc: """
                  Splits a string at each occurrence of `sep`; without `sep`, at runs of whitespace
                  (dropping empty pieces): `split("a,b", sep: ",")` is ["a", "b"].
                  """) { args, _ in
            let s = try args.string("text", at: 0)
            if args.has("sep", at: 1) {
                let sep = try args.string("sep", at: 1)
                guard !sep.isEmpty else { throw RuntimeError.arguments("split: argument 'sep' must not be empty") }
                return .list(ListBox(s.components(separatedBy: sep).map { .string($0) }))
            }
            return .list(ListBox(s.split(whereSeparator: { $0.isWhitespace }).map { .string(String($0)) }))
        }
        t.add("upper", "upper(text)", doc: "The string in upper case.") { args, _ in
            return .string(try args.string("text", at: 0).uppercased())
        }
        t.add("lower", "lower(text)", doc: "The string in lower case.") { args, _ in
            return .string(try args.string("text", at: 0).lowercased())
        }
        t.add("replace", "replace(text, old, new)", doc: """
            The string with every occurrence of `old` replaced by `new`.
            """) { args, ctx in
            let old = try args.string("old", at: 1)
            guard !old.isEmpty else { throw RuntimeError.arguments("replace: argument 'old' must not be empty") }
            let text = try args.string("text", at: 0), new = try args.string("new", at: 2)
            if new.utf8.count > old.utf8.count {  // the result grows: its size is checked first
                var count = 0, from = text.startIndex
                while let r = text.range(of: old, range: from..<text.endIndex) { count += 1; from = r.upperBound }
                try checkStringSize(text.utf8.count + count * (new.utf8.count - old.utf8.count), "replace", ctx)
            }
            return .string(text.replacingOccurrences(of: old, with: new))
        }
    }

    /// A string result of `size` bytes must pass the limit `+` enforces (`Limits.collectionSize`).
    static func checkStringSize(_ size: Int, _ callee: String, _ ctx: CallContext) throws {
        let limit = (ctx as? Interpreter)?.limits.collectionSize ?? 100_000_000
        guard size <= limit else { throw RuntimeError.value("\(callee): the result would be \(size) bytes, more than the \(limit) a string may hold") }
    }

    static func listBox(_ args: Arguments, _ name: String, _ i: Int) throws -> ListBox {
        guard let v = args.value(name, at: i) else { throw RuntimeError.arguments("\(args.callee): missing argument '\(name)'") }
        guard case .list(let l) = v else { throw RuntimeError.type("\(args.callee): argument '\(name)' must be a list, got \(v.typeName)") }
        return l
    }

    static func recordBox(_ args: Arguments, _ name: String, _ i: Int) throws -> RecordBox {
        guard let v = args.value(name, at: i) else { throw RuntimeError.arguments("\(args.callee): missing argument '\(name)'") }
        guard case .record(let r) = v else { throw RuntimeError.type("\(args.callee): argument '\(name)' must be a record, got \(v.typeName)") }
        return r
    }

    // MARK: - Functions over lists

    static func registerFunctional(into t: inout BuiltinTable) {
        t.add("map", "map(list, f)", doc: """
            A new list with `f(item)` for each item of `list`: `map([1, 2], fn(x) { return x * 10 })` is
            [10, 20].
            """) { args, ctx in
            let items = try args.list("list", at: 0)
            guard let f = args.value("f", at: 1) else { throw RuntimeError.arguments("map: missing argument 'f'") }
            return .list(ListBox(try items.map { try ctx.call(f, Arguments([$0])) }))
        }
        t.add("filter", "filter(list, f)", doc: """
            A new list with the items of `list` for which `f(item)` is true.
            """) { args, ctx in
            let items = try args.list("list", at: 0)
            guard let f = args.value("f", at: 1) else { throw RuntimeError.arguments("filter: missing argument 'f'") }
            return .list(ListBox(try items.filter { item in
                let r = try ctx.call(f, Arguments([item]))
                guard case .bool(let b) = r else { throw RuntimeError.type("filter: f must return true or false, got \(r.typeName)") }
                return b
            }))
        }
        t.add("enumerate", "enumerate(list)", doc: """
            A list of [index, item] pairs: `for p in enumerate(xs) { print(p[0], p[1]) }`.
            """) { args, _ in
            let items = try args.list("list", at: 0)
            return .list(ListBox(items.enumerated().map { .list(ListBox([.number(Double($0.offset)), $0.element])) }))
        }
        t.add("zip", "zip(a, b)", doc: "A list of [a[i], b[i]] pairs, as long as the shorter list.") { args, _ in
            let a = try args.list("a", at: 0), b = try args.list("b", at: 1)
            return .list(ListBox(zip(a, b).map { .list(ListBox([$0, $1])) }))
        }
        t.add("sort", "sort(list, key: nil, reverse: false)",
              doc: """
                  A new list with the items sorted ascending (numbers, or strings); with `key`, sorted by
                  `key(item)`; `reverse: true` sorts descending. The sort is stable; NaN goes last in either
                  direction.
                  """) { args, ctx in
            let items = try args.list("list", at: 0)
            let reverse = try args.bool("reverse", default: false)
            var keys = items
            if args.has("key"), let f = args.value("key") { keys = try items.map { try ctx.call(f, Arguments([$0])) } }
            func less(_ a: Value, _ b: Value) throws -> Bool {
                switch (a, b) {
                case (.number(let x), .number(let y)): return x < y
                case (.string(let x), .string(let y)): return x < y
                default: throw RuntimeError.type("sort: cannot order \(a.typeName) and \(b.typeName) (sort numbers or strings, or give key:)")
                }
            }
            var idx = Array(items.indices)
            var failure: Error?
            idx.sort { i, j in
                if failure != nil { return false }
                // NaN sorts last (as NumPy does), whichever the direction; NaNs keep their order.
                if case .number(let x) = keys[i], case .number(let y) = keys[j], x.isNaN || y.isNaN {
                    return x.isNaN && y.isNaN ? i < j : y.isNaN
                }
                do {
                    if try less(keys[i], keys[j]) { return !reverse }
                    if try less(keys[j], keys[i]) { return reverse }
                    return i < j
                } catch { failure = error; return false }
            }
            if let f = failure { throw f }
            return .list(ListBox(idx.map { items[$0] }))
        }
        t.add("sum", "sum(list)", doc: "The sum of a list of numbers (0 for an empty list).") { args, ctx in
            if case .object(let o)? = args.value("list", at: 0), let m = try o.member("sum") {
                return try ctx.call(m, Arguments([]))
            }
            return .number(try args.numbers("list", at: 0).reduce(0, +))
        }
    }

    // MARK: - Math on numbers

    static func registerMath(into t: inout BuiltinTable) {
        let unary: [(String, String, (Double) -> Double)] = [
            ("abs", "The absolute value.", { Swift.abs($0) }),
            ("sqrt", "The square root (nan for negative numbers).", { $0.squareRoot() }),
            ("exp", "e raised to the power x.", { Foundation.exp($0) }),
            ("log", "The natural logarithm (-inf at 0, nan below).", { Foundation.log($0) }),
            ("floor", "The largest whole number not above x.", { $0.rounded(.down) }),
            ("ceil", "The smallest whole number not below x.", { $0.rounded(.up) }),
            ("sin", "The sine (radians).", { Foundation.sin($0) }),
            ("cos", "The cosine (radians).", { Foundation.cos($0) }),
            ("tanh", "The hyperbolic tangent.", { Foundation.tanh($0) }),
        ]
        for (name, doc, f) in unary {
            t.add(name, "\(name)(x)", doc: "\(doc) `x` is a number.") { args, ctx in
                if case .object(let o)? = args.value("x", at: 0) {
                    guard let m = try o.member(name) else { throw RuntimeError.type("\(name): argument 'x' must be a number, got a \(o.typeName)") }
                    return try ctx.call(m, Arguments([]))
                }
                return .number(f(try args.number("x", at: 0)))
            }
        }
        t.add("round", "round(x, digits = 0)",
              doc: """
                  x rounded to `digits` digits after the point, halves away from zero: `round(2.5)` is 3,
                  `round(0.1234, digits: 2)` is 0.12.
                  """) { args, _ in
            let x = try args.number("x", at: 0)
            let d = try args.int("digits", at: 1, default: 0)
            guard (-15...15).contains(d) else { throw RuntimeError.arguments("round: argument 'digits' must be between -15 and 15, got \(d)") }
            let s = Foundation.pow(10.0, Double(d))
            // From 2^52 on every double is a whole number, so digits after the point change nothing
            // (and x * s could overflow to inf: round(1e300, digits: 15)).
            if d >= 0 && Swift.abs(x) >= 4_503_599_627_370_496 { return .number(x) }
            let r = (x * s).rounded(.toNearestOrAwayFromZero) / s
            return .number(r.isFinite ? r : x)
        }
        for (name, pick) in [("min", { (a: Double, b: Double) in Swift.min(a, b) }), ("max", { (a: Double, b: Double) in Swift.max(a, b) })] {
            t.add(name, "\(name)(values...)",
                  doc: """
                      The \(name == "min" ? "smallest" : "largest") of several numbers, or of one list of numbers:
                      `\(name)(3, 1, 2)`, `\(name)([3, 1, 2])`. Fails on an empty list.
                      """) { args, _ in
                var xs: [Double]
                if args.positional.count == 1 {
                    xs = try args.numbers("values", at: 0)
                } else {
                    xs = try args.positional.indices.map { try args.number("value \($0 + 1)", at: $0) }
                }
                guard var m = xs.first else { throw RuntimeError.value("\(name): no values") }
                for x in xs.dropFirst() { m = pick(m, x) }
                return .number(m)
            }
        }
    }

    // MARK: - Time, assertions, exit

    static func registerSystem(into t: inout BuiltinTable) {
        t.add("time", "time()", doc: "Seconds since 1970-01-01 UTC, with fractions (wall clock).") { args, _ in
            return .number(Date().timeIntervalSince1970)
        }
        t.add("clock", "clock()", doc: """
            Seconds on a monotonic clock, for timing: `t0 = clock(); ...; print(clock() - t0)`.
            """) { args, _ in
            return .number(ProcessInfo.processInfo.systemUptime)
        }
        t.add("assert", "assert(condition, message = \"assertion failed\")",
              doc: "Stops the script with an error showing `message` when `condition` is false.") { args, _ in
            guard let c = args.value("condition", at: 0) else { throw RuntimeError.arguments("assert: missing argument 'condition'") }
            guard case .bool(let b) = c else { throw RuntimeError.type("assert: argument 'condition' must be true or false, got \(c.typeName)") }
            if !b { throw RuntimeError.message(try args.string("message", at: 1, default: "assertion failed")) }
            return .nil_
        }
        t.add("error", "error(message)", doc: """
            Stops the script with a runtime error showing `message` (and where it happened).
            """) { args, _ in
            throw RuntimeError.message(try args.value("message", at: 0)?.display() ?? "error")
        }
        t.add("exit", "exit(code = 0)", doc: """
            Ends the script with exit status `code` (0 success); in the REPL, leaves the REPL.
            """) { args, _ in
            let c = try args.int("code", at: 0, default: 0)
            guard (0...255).contains(c) else { throw RuntimeError.arguments("exit: argument 'code' must be between 0 and 255, got \(c)") }
            throw ExitRequest(code: Int32(c))
        }
    }
}
