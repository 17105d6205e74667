// The interactive loop on GNU readline: prompt `adv> `, continuation `...> ` while a bracket
// or block is open, history in ~/.adv_history (or ADV_HISTFILE; each input is appended, so two
// sessions at once keep both), results printed unless the input ends in `;` and kept in `_`,
// Ctrl-C interrupts evaluation (variables stay), Ctrl-D exits.
import CBuildInfo
import CReadline
import Engine
import Tensor
import Foundation
import Lang

/// State the SIGINT handler and readline callbacks reach (C callbacks cannot capture).
enum REPLState {
    nonisolated(unsafe) static var atPrompt = false
    nonisolated(unsafe) static var lineCleared = false
    nonisolated(unsafe) static var current: REPL?

    /// Ctrl-C at the prompt: drop the line (and any pending continuation lines).
    static func clearLine() {
        lineCleared = true
        _ = "^C\n".withCString { Glibc.write(1, $0, 3) }
        rl_replace_line("", 0)
        rl_on_new_line()
        _ = "adv> ".withCString { rl_set_prompt($0) }
        rl_redisplay()
    }
}

public final class REPL {
    public let interp: Interpreter
    /// Statements that ran without error, as a runnable script (for `:save`).
    public private(set) var session: [String] = []
    /// Every input with what it showed, for `:report FILE.html`.
    public private(set) var transcript: [CellResult] = []
    let historyPath: String
    var pending = ""
    var blankLines = 0
    /// Lines kept in the history file (older ones are cut when a line is appended).
    static let historyLimit: Int32 = 2000

    public init(interp: Interpreter = Interpreter()) {
        self.interp = interp
        historyPath = REPL.historyFile()
    }

    /// ADV_HISTFILE when set and not empty, else ~/.adv_history.
    static func historyFile() -> String {
        let env = ProcessInfo.processInfo.environment
        if let p = env["ADV_HISTFILE"], !p.isEmpty { return p }
        let home = env["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".adv_history").path
    }

    func out(_ s: String) { Console.out(s) }

    /// Runs until Ctrl-D, `:quit` or `exit()`.
    /// - Returns: the exit status.
    public func run() -> Int32 {
        REPLState.current = self
        rl_catch_signals = 0
        rl_readline_name = UnsafePointer(strdup("adv"))
        installCompletion()
        stifle_history(REPL.historyLimit)
        _ = read_history(historyPath)
        Runner.installInterruptHandler()
        out("adv \(Version.full) — :help for commands, help() for builtins, Ctrl-D to quit\n")
        while true {
            REPLState.atPrompt = true
            REPLState.lineCleared = false
            let raw = readline(pending.isEmpty ? "adv> " : "...> ")
            REPLState.atPrompt = false
            guard let cline = raw else {
                out("\n")
                return 0
            }
            let line = String(cString: cline)
            free(cline)
            if REPLState.lineCleared { pending = "" }
            if pending.isEmpty, line.trimmingCharacters(in: .whitespaces).hasPrefix(":") {
                remember(line)
                if let code = command(line.trimmingCharacters(in: .whitespaces)) { return code }
                continue
            }
            if pending.isEmpty && line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            pending += line + "\n"
            blankLines = line.trimmingCharacters(in: .whitespaces).isEmpty ? blankLines + 1 : 0
            if Parser.isIncomplete(pending) && blankLines < 2 { continue }
            let input = pending
            pending = ""
            blankLines = 0
            remember(REPL.historyEntry(input))
            if let code = evaluate(input, name: "<repl>") { return code }
        }
    }

    /// One history line for a (possibly multi-line) input: lines joined by "; " or " " so
    /// that recalling it runs the same code.
    static func historyEntry(_ input: String) -> String {
        let lines = input.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var out = ""
        for (i, l) in lines.enumerated() {
            if i > 0 {
                let prev = lines[i - 1]
                let glue = prev.hasSuffix("{") || prev.hasSuffix("(") || prev.hasSuffix("[") || prev.hasSuffix(",")
                    || ["+", "-", "*", "/", "=", "and", "or"].contains(where: { prev.hasSuffix($0) })
                    || l.hasPrefix("}") || l.hasPrefix(")") || l.hasPrefix("]") || l.hasPrefix("else")
                out += glue ? " " : "; "
            }
            out += l
        }
        return out
    }

    /// Adds an input to the history and appends it to the history file (never rewriting the
    /// file from this session's list, which would drop lines another open REPL appended), then
    /// cuts the file to its last `historyLimit` lines.
    func remember(_ entry: String) {
        guard !entry.isEmpty else { return }
        entry.withCString { add_history($0) }
        if !FileManager.default.fileExists(atPath: historyPath) {
            // append_history opens the file without creating it.
            _ = FileManager.default.createFile(atPath: historyPath, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        _ = append_history(1, historyPath)
        _ = history_truncate_file(historyPath, REPL.historyLimit)
    }

    /// Evaluates one input, printing results and errors.
    /// - Parameters:
    ///   - echo: print the values of expression statements (unless the input ends in `;`).
    ///   - record: keep the statements that ran for `:save`.
    /// - Returns: an exit status when the input asked to leave (`exit()`).
    @discardableResult
    public func evaluate(_ text: String, name: String, echo: Bool = true, record: Bool = true) -> Int32? {
        let source = SourceFile(name: name, text: text)
        let suppress = text.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(";")
        Interrupt.requested = false
        var cell = CellResult(kind: .code, title: nil, source: text.trimmingCharacters(in: .whitespacesAndNewlines))
        func add(_ o: CellOutput) {
            if case .stream(let s) = o, case .stream(let prev)? = cell.outputs.last {
                cell.outputs[cell.outputs.count - 1] = .stream(prev + s)
            } else {
                cell.outputs.append(o)
            }
        }
        let saved = (interp.output, interp.display)
        interp.output = { saved.0($0); add(.stream($0)) }
        interp.display = { [self] v in out(v.display() + "\n"); add(.display(Display.data(for: v, types: ["text/plain", "text/html", "image/svg+xml"]))) }
        defer {
            (interp.output, interp.display) = saved
            if record { transcript.append(cell) }
        }
        let t0 = ProcessInfo.processInfo.systemUptime
        defer { cell.seconds = ProcessInfo.processInfo.systemUptime - t0 }
        do {
            try interp.run(source, echo: { [self] v, stmt in
                if case .nil_ = v { return }
                if !echo || suppress { return }
                out(v.display() + "\n")
                add(.display(Display.data(for: v, types: ["text/plain", "text/html", "image/svg+xml"])))
                interp.globals.values["_"] = v
                // A shown value becomes print(...) in the saved script, so it prints the same.
                if record, let last = session.last, last == source.text(of: stmt.span) {
                    session[session.count - 1] = "print(\(last))"
                }
            }, completed: { [self] stmt in
                guard record else { return }
                session.append(source.text(of: stmt.span))
            })
        } catch {
            if let e = error as? ExitRequest { return e.code }
            cell.status = .failed
            if let s = error as? ScriptError, case .interrupted = s.error {
                Runner.printError("interrupted (variables are kept)")
                add(.error("interrupted (variables are kept)"))
            } else {
                let (text, _) = Runner.describe(error)
                if let t = text { Runner.printError(t); add(.error(t)) }
            }
        }
        return nil
    }
}

/// The version shown by `adv --version` and the REPL banner.
public enum Version {
    public static let string = "0.1.0"
    /// The git commit of the build, stamped by `make` ("unknown" after a plain `swift build`).
    public static var commit: String { String(cString: adv_build_commit()) }
    /// "0.1.0 (commit 1a2b3c4)".
    public static var full: String { "\(string) (commit \(commit))" }
}
