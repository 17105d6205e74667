// REPL commands: :help [name], :vars, :time EXPR, :load FILE, :save FILE, :quit.
import Engine
import Tensor
import Foundation
import Lang

extension REPL {
    static let commands: [(String, String)] = [
        (":help [name]", "this list, or the documentation of a builtin/function/module"),
        (":vars", "your variables with a one-line summary"),
        (":time EXPR", "evaluate EXPR and show how long it took"),
        (":load FILE", "run a script in this session (its variables stay)"),
        (":save FILE", "write this session's successful inputs as a runnable script"),
        (":report FILE", "write this session (inputs, outputs, figures) as a report (.html or .md)"),
        (":quit", "leave (also Ctrl-D)"),
    ]

    /// Runs a `:command`.
    /// - Returns: an exit status when the REPL should end.
    func command(_ line: String) -> Int32? {
        let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
        let name = parts[0]
        let rest = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        switch name {
        case ":quit", ":q", ":exit":
            return 0
        case ":help", ":h":
            if rest.isEmpty {
                var s = "Commands:\n"
                for (c, d) in REPL.commands { s += "  " + c.padding(toLength: 14, withPad: " ", startingAt: 0) + d + "\n" }
                s += "Type code to run it; a value is shown unless the line ends in ';'.\n"
                s += "help() lists the builtins; help(name) shows one. Ctrl-C interrupts, Ctrl-D quits.\n"
                out(s)
            } else {
                out(CoreBuiltins.helpText(helpTarget(rest), interp) + "\n")
            }
        case ":vars":
            let names = interp.globals.values.keys.filter { $0 != "args" }.sorted()
            if names.isEmpty { out("(no variables yet)\n") }
            for n in names {
                guard let v = interp.globals.values[n] else { continue }
                out("\(n): \(v.typeName) = \(v.summary())\n")
            }
        case ":time":
            guard !rest.isEmpty else { Runner.printError(":time needs an expression, e.g. :time fib(20)"); return nil }
            let t0 = ProcessInfo.processInfo.systemUptime
            let r = evaluate(rest, name: "<repl>")
            out("time: \(String(format: "%.3f", ProcessInfo.processInfo.systemUptime - t0)) s\n")
            return r
        case ":load":
            guard !rest.isEmpty else { Runner.printError(":load needs a file name"); return nil }
            let path = unquote(rest)
            do {
                let src = try SourceLoader.load(path: path)
                return evaluate(src.text, name: path, echo: false)
            } catch {
                Runner.printError(Runner.messageText(error, fallbackName: path))
            }
        case ":save":
            guard !rest.isEmpty else { Runner.printError(":save needs a file name"); return nil }
            let path = unquote(rest)
            do {
                try AtomicFile.write(session.joined(separator: "\n") + "\n", to: path)
                out("saved \(session.count) statement\(session.count == 1 ? "" : "s") to \(path)\n")
            } catch {
                Runner.printError("\(path): error: \(error)")
            }
        case ":report":
            guard !rest.isEmpty else { Runner.printError(":report needs a file name ending in .html or .md"); return nil }
            let path = unquote(rest)
            var report = Report(title: "adv session", source: "REPL")
            report.cells = transcript
            report.seconds = transcript.reduce(0) { $0 + $1.seconds }
            report.seed = SessionSeed.text
            do {
                try report.write(to: path)
                out("wrote \(transcript.count) input\(transcript.count == 1 ? "" : "s") to \(path)\n")
            } catch {
                Runner.printError("\(path): error: cannot write the report: \(error)")
            }
        default:
            var msg = "<repl>: error: unknown command '\(name)'"
            if let n = nearest(name, in: REPL.commands.map { String($0.0.split(separator: " ")[0]) }) { msg += "; did you mean '\(n)'?" }
            Runner.printError(msg + " (:help lists the commands)")
        }
        return nil
    }

    /// What `:help NAME` documents: a variable, a builtin, or a dotted path through modules,
    /// records and objects (`:help recipes.study`); otherwise the name itself (help suggests one).
    func helpTarget(_ name: String) -> Value {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard var v = interp.globals.values[parts[0]] ?? interp.builtins.byName[parts[0]].map({ .builtin($0) }) else {
            return interp.builtins.byName[name].map { .builtin($0) } ?? .string(name)
        }
        for p in parts.dropFirst() {
            guard let next = try? interp.member(v, p) else { return interp.builtins.byName[name].map { .builtin($0) } ?? .string(name) }
            v = next
        }
        return v
    }

    func unquote(_ s: String) -> String {
        if s.count >= 2, s.hasPrefix("\""), s.hasSuffix("\"") { return String(s.dropFirst().dropLast()) }
        return s
    }
}
