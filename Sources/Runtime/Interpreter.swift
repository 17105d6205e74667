// The tree-walking interpreter (in the style of jlox): statements and control flow here;
// expressions, operators, calls and modules in the Interpreter+*.swift files.
import Engine
import Tensor
import Foundation
import Lang

/// Limits that keep a runaway script from hanging or exhausting memory.
public struct Limits {
    /// Deepest chain of user-function calls ("recursion too deep" beyond it).
    public var callDepth = 800
    /// Stop after this many loop iterations plus calls (nil: no limit). Used by tests and fuzzing.
    public var steps: Int?
    /// Stop after this many seconds (nil: no limit).
    public var seconds: Double?
    /// Largest list or string a script may build by concatenation or `range`.
    public var collectionSize = 100_000_000
    public init() {}
}

/// Control flow out of a statement.
enum Flow {
    case normal, breakLoop, continueLoop
    case returned(Value)
}

/// Runs programs. One interpreter is one session: globals, loaded modules and builtins.
public final class Interpreter: CallContext {
    public let builtins: BuiltinTable
    /// The top-level scope of the session.
    public let globals: Environment
    /// Where `print` and the REPL write (tests capture it).
    public var output: (String) -> Void
    /// Where `show(value)` sends values as display data (a notebook report); nil: as text to `output`.
    public var display: ((Value) -> Void)?
    public var limits: Limits
    /// Directories searched for `use NAME` after the using file's own directory.
    public var searchPaths: [String]
    /// How this session prints tensors (`print_options`); in force while its code runs.
    public let printOptions = PrintOptions()

    var callStack: [Frame] = []
    var steps = 0
    var deadline: Double = .infinity
    /// Call site of the builtin being called (for errors raised through `CallContext.call`).
    var currentSite: Span?
    /// Modules by resolved path, loaded once per session.
    var modules: [String: Module] = [:]
    var loading: Set<String> = []
    /// Modules parsed ahead of running (`preparseModules`), by resolved path, until used.
    var parsedModules: [String: (source: SourceFile, statements: [Stmt])] = [:]

    /// - Parameters:
    ///   - builtins: the builtin table (normally `Registry.standard()`).
    ///   - args: the script's arguments, bound to `args`.
    ///   - output: receives everything the script prints.
    public init(builtins: BuiltinTable = Registry.standard(), args: [String] = [],
                output: @escaping (String) -> Void = { Console.out($0) }) {
        self.builtins = builtins
        self.globals = Environment()
        self.output = output
        self.limits = Limits()
        self.searchPaths = Interpreter.defaultSearchPaths()
        globals.values["args"] = .list(ListBox(args.map { .string($0) }))
    }

    // MARK: - Running programs

    /// Parses and runs `source` in the session's global scope (or `env`).
    /// - Parameters:
    ///   - echo: called with the value of each top-level expression statement (the REPL prints it).
    ///   - completed: called after each top-level statement that ran without error.
    /// - Throws: `Diagnostics` for syntax errors (nothing runs), `ScriptError` for runtime errors.
    public func run(_ source: SourceFile, in env: Environment? = nil,
                    echo: ((Value, Stmt) -> Void)? = nil,
                    completed: ((Stmt) -> Void)? = nil) throws {
        let (stmts, diags) = Parser.parse(source)
        if !diags.isEmpty { throw Diagnostics(diags) }
        try preparseModules(stmts, from: source)
        try execute(stmts, in: env ?? globals, echo: echo, completed: completed)
    }

    /// Runs parsed statements at top level, on a thread with a large stack.
    public func execute(_ stmts: [Stmt], in env: Environment,
                        echo: ((Value, Stmt) -> Void)? = nil,
                        completed: ((Stmt) -> Void)? = nil) throws {
        steps = 0
        deadline = limits.seconds.map { ProcessInfo.processInfo.systemUptime + $0 } ?? .infinity
        callStack.removeAll()
        let outer = PrintOptions.active
        PrintOptions.active = printOptions
        defer { PrintOptions.active = outer }
        try BigStack.shared.run {
            for s in stmts {
                if case .expression(let e) = s.kind, let echo = echo {
                    let v = try self.eval(e, env)
                    completed?(s)
                    echo(v, s)
                    continue
                }
                switch try self.exec(s, env) {
                case .normal: break
                case .breakLoop, .continueLoop, .returned: break  // rejected by the parser
                }
                completed?(s)
            }
        }
    }

    // MARK: - CallContext

    public func call(_ callee: Value, _ args: Arguments) throws -> Value {
        guard let site = currentSite ?? callStack.last?.callSite else {
            return try callValue(callee, args, site: Span(SourceFile(name: "<builtin>", text: ""), 0, 0))
        }
        return try callValue(callee, args, site: site)
    }

    public func write(_ text: String) { output(text) }

    public func checkInterrupt() throws {
        if Interrupt.requested {
            Interrupt.requested = false
            throw RuntimeError.interrupted
        }
    }

    /// Counts a step (loop iteration or call) and checks Ctrl-C and the limits.
    @inline(__always)
    func tick() throws {
        steps &+= 1
        if Interrupt.requested {
            Interrupt.requested = false
            throw RuntimeError.interrupted
        }
        if let max = limits.steps, steps > max {
            throw RuntimeError.message("step limit exceeded (\(max) loop iterations and calls)")
        }
        if steps & 1023 == 0, deadline.isFinite, ProcessInfo.processInfo.systemUptime > deadline {
            throw RuntimeError.message("time limit exceeded (\(limits.seconds ?? 0) s)")
        }
    }

    // MARK: - Statements

    func execBlock(_ stmts: [Stmt], _ env: Environment) throws -> Flow {
        for s in stmts {
            let f = try exec(s, env)
            if case .normal = f { continue }
            return f
        }
        return .normal
    }

    func exec(_ s: Stmt, _ env: Environment) throws -> Flow {
        switch s.kind {
        case .expression(let e):
            _ = try eval(e, env)
            return .normal

        case .assign(let target, let op, let valueExpr):
            var value = try eval(valueExpr, env)
            if let op = op {
                let old = try eval(target, env)
                value = try located(s.span) { try binary(op, old, value) }
            }
            try assign(target, value, env)
            return .normal

        case .function(let decl):
            let c = Closure(decl: decl, env: env)
            env.values[decl.name ?? "fn"] = .function(c)
            return .normal

        case .if_(let branches, let elseBody):
            for (cond, body) in branches where try condition(cond, env, "if") {
                return try execBlock(body, env)
            }
            if let e = elseBody { return try execBlock(e, env) }
            return .normal

        case .while_(let cond, let body):
            while try condition(cond, env, "while") {
                try located(cond.span) { try tick() }
                switch try execBlock(body, env) {
                case .breakLoop: return .normal
                case .returned(let v): return .returned(v)
                case .normal, .continueLoop: continue
                }
            }
            return .normal

        case .for_(let name, _, let iterableExpr, let body):
            let iterable = try eval(iterableExpr, env)
            let count: Int
            let item: (Int) throws -> Value
            switch iterable {
            case .list(let l):
                let items = l.items
                count = items.count
                item = { items[$0] }
            case .string(let str):
                let chars = Array(str)
                count = chars.count
                item = { .string(String(chars[$0])) }
            case .record(let r):
                let keys = r.keys
                count = keys.count
                item = { .string(keys[$0]) }
            case .object(let o):
                guard let n = o.length else {
                    throw fail(.type("cannot loop over a \(o.typeName)"), iterableExpr.span)
                }
                count = n
                item = { i in
                    guard let v = try o.index(.number(Double(i))) else {
                        throw RuntimeError.type("cannot loop over a \(o.typeName)")
                    }
                    return v
                }
            case .number:
                throw fail(.type("cannot loop over a number; use range(n)"), iterableExpr.span)
            default:
                throw fail(.type("cannot loop over a \(iterable.typeName)"), iterableExpr.span)
            }
            var i = 0
            while i < count {
                let v = try located(iterableExpr.span) { () throws -> Value in
                    try tick()
                    return try item(i)
                }
                env.values[name] = v
                i += 1
                switch try execBlock(body, env) {
                case .breakLoop: return .normal
                case .returned(let v): return .returned(v)
                case .normal, .continueLoop: continue
                }
            }
            return .normal

        case .break_: return .breakLoop
        case .continue_: return .continueLoop
        case .return_(let e):
            return .returned(try e.map { try eval($0, env) } ?? .nil_)

        case .use(let target, let alias):
            try located(s.span) { try use(target, alias: alias, from: s.span.source, into: env) }
            return .normal
        }
    }

    /// Evaluates a condition, which must be a bool.
    func condition(_ e: Expr, _ env: Environment, _ what: String) throws -> Bool {
        let v = try eval(e, env)
        if case .bool(let b) = v { return b }
        throw fail(.type("the condition of '\(what)' must be true or false, got \(v.typeName)"), e.span)
    }

    func assign(_ target: Expr, _ value: Value, _ env: Environment) throws {
        switch target.kind {
        case .name(let n):
            if case .function(let c) = value, c.decl.name == nil, c.name == "fn" { c.name = n }
            env.values[n] = value
        case .member(let objExpr, let name, let nameSpan):
            let obj = try eval(objExpr, env)
            switch obj {
            case .record(let r): r[name] = value
            default:
                throw fail(.type("cannot set field '\(name)' on a \(obj.typeName) (only records have settable fields)"), nameSpan)
            }
        case .index(let objExpr, let indexExpr):
            let obj = try eval(objExpr, env)
            let idx = try eval(indexExpr, env)
            try located(target.span) { try setIndex(obj, idx, value) }
        default:
            throw fail(.type("cannot assign to this expression"), target.span)
        }
    }

    // MARK: - Errors

    /// A `ScriptError` at `span` with the current traceback.
    func fail(_ e: RuntimeError, _ span: Span) -> ScriptError {
        ScriptError(e, span: span, trace: callStack)
    }

    /// Runs `body`, placing any error it throws at `span` (errors already placed pass through).
    @inline(__always)
    func located<T>(_ span: Span, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as ScriptError {
            throw e
        } catch let e as RuntimeError {
            throw fail(e, span)
        } catch let e as EngineError {
            throw fail(e == .interrupted ? .interrupted : .engine(e), span)
        } catch let e as Diagnostics {
            throw e
        } catch let e as ExitRequest {
            throw e
        } catch {
            throw fail(.message("\(error)"), span)
        }
    }
}
