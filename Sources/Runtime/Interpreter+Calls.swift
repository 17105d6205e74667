// Calling closures, builtins and callable host objects.
import Lang

extension Interpreter {
    /// Calls `callee`; errors are placed at `site`, the call expression.
    func callValue(_ callee: Value, _ args: Arguments, site: Span) throws -> Value {
        switch callee {
        case .function(let c):
            return try callClosure(c, args, site: site)
        case .builtin(let b):
            var a = args
            a.callee = b.name
            let saved = currentSite
            currentSite = site
            defer { currentSite = saved }
            return try located(site) { try b.call(a, self) }
        case .object(let o):
            var a = args
            if a.callee.isEmpty { a.callee = o.typeName }
            let saved = currentSite
            currentSite = site
            defer { currentSite = saved }
            return try located(site) { try o.call(a, self) }
        default:
            throw fail(.type("a \(callee.typeName) is not callable"), site)
        }
    }

    func callClosure(_ c: Closure, _ args: Arguments, site: Span) throws -> Value {
        try located(site) { try tick() }
        if callStack.count >= limits.callDepth {
            throw fail(.value("recursion too deep (more than \(limits.callDepth) nested calls of script functions)"), site)
        }
        let decl = c.decl
        let params = decl.params
        let env = Environment(parent: c.env)
        if args.positional.count > params.count {
            throw fail(.arguments("\(c.name) takes \(params.count) argument\(params.count == 1 ? "" : "s"), got \(args.positional.count)"), site)
        }
        for (i, v) in args.positional.enumerated() { env.values[params[i].name] = v }
        for (n, v) in args.named {
            guard let k = params.firstIndex(where: { $0.name == n }) else {
                var msg = "\(c.name) has no parameter named '\(n)'"
                if let s = nearest(n, in: params.map(\.name)) { msg += "; did you mean '\(s)'?" }
                throw fail(.arguments(msg), site)
            }
            if k < args.positional.count {
                throw fail(.arguments("\(c.name): argument '\(n)' given both by position and by name"), site)
            }
            env.values[n] = v
        }
        callStack.append(Frame(name: c.name, callSite: site))
        defer { callStack.removeLast() }
        for p in params where env.values[p.name] == nil {
            guard let d = p.defaultValue else {
                callStack.removeLast()
                defer { callStack.append(Frame(name: c.name, callSite: site)) }
                throw fail(.arguments("\(c.name): missing argument '\(p.name)'"), site)
            }
            env.values[p.name] = try eval(d, env)
        }
        switch try execBlock(decl.body, env) {
        case .returned(let v): return v
        default: return .nil_
        }
    }
}
