// Running scripts for the command line: files, `-e` code and standard input, with errors
// reported on stderr and the exit status of the contract (0 ok, 1 runtime error, 2 syntax/usage).
import Engine
import Tensor
import Foundation
import Lang

public enum Runner {
    /// Writes to standard error.
    /// Under mpirun the message names the rank ("[rank 1] FILE:LINE:COL: error: ...").
    public static func printError(_ s: String) {
        let text = Distributed.prefix + s
        Console.err(text.hasSuffix("\n") ? text : text + "\n")
    }

    /// Runs the script at `path` with `args` bound to `args`.
    /// - Returns: the exit status.
    public static func runFile(path: String, args: [String]) -> Int32 {
        let source: SourceFile
        do {
            source = try SourceLoader.load(path: path)
        } catch {
            printError(messageText(error, fallbackName: "adv"))
            return 2
        }
        return run(source, args: args)
    }

    /// Runs `code` given with `-e`.
    public static func runCode(_ code: String, args: [String]) -> Int32 {
        run(SourceFile(name: "-e", text: code), args: args)
    }

    /// Runs the script read from standard input.
    public static func runStdin(args: [String]) -> Int32 {
        do {
            return run(try SourceLoader.decode(try SourceLoader.readAll(fd: 0, name: "<stdin>"), name: "<stdin>"), args: args)
        } catch {
            printError(messageText(error, fallbackName: "<stdin>"))
            return 2
        }
    }

    /// Runs the script at `path` (or `code` from `-e`), then the REPL with the script's
    /// variables (`adv -i`, as `python -i`); an error in the script is reported and the REPL
    /// still opens, so its variables can be inspected.
    /// - Returns: the REPL's exit status, or 2 when the file cannot be read.
    public static func runThenREPL(path: String?, code: String?, args: [String]) -> Int32 {
        let interp = Interpreter(args: args)
        let source: SourceFile
        if let c = code {
            source = SourceFile(name: "-e", text: c)
        } else if let p = path {
            do { source = try SourceLoader.load(path: p) } catch {
                printError(messageText(error, fallbackName: p))
                return 2
            }
        } else {
            return REPL(interp: interp).run()
        }
        let r = run(source, in: interp)
        if r.exited { return r.status }  // exit() in the script leaves, as in python -i
        return REPL(interp: interp).run()
    }

    /// Parses and runs a source, printing any error.
    public static func run(_ source: SourceFile, args: [String]) -> Int32 {
        run(source, in: Interpreter(args: args)).status
    }

    /// Parses and runs a source in `interp`, printing any error.
    /// - Returns: the exit status, and whether the script called `exit()`.
    static func run(_ source: SourceFile, in interp: Interpreter) -> (status: Int32, exited: Bool) {
        installInterruptHandler()
        do {
            try interp.run(source)
            return (0, false)
        } catch let e as ExitRequest {
            return (e.code, true)
        } catch {
            return (report(error), false)
        }
    }

    /// Prints an error from `run` and gives the exit status it means.
    @discardableResult
    public static func report(_ error: Error) -> Int32 {
        let (text, code) = describe(error)
        if let t = text { printError(t) }
        return code
    }

    /// The message an error prints (nil for an `exit()` request) and the exit status it means.
    public static func describe(_ error: Error) -> (text: String?, code: Int32) {
        switch error {
        case let e as ExitRequest:
            return (nil, e.code)
        case let d as Diagnostics:
            return (d.description, 2)
        case let d as Diagnostic:
            return (d.render(), 2)
        case let e as ScriptError:
            if case .interrupted = e.error { return (e.render(), 130) }  // the Unix convention (128 + SIGINT)
            return (e.render(), 1)
        default:
            return (messageText(error, fallbackName: "adv"), 1)
        }
    }

    static func messageText(_ error: Error, fallbackName: String) -> String {
        let text = "\(error)"
        // Loader messages already carry "FILE:LINE:COL: error:"; others get "adv: error:".
        return text.contains(": error: ") ? text : "\(fallbackName): error: \(text)"
    }

    /// Ctrl-C asks running code to stop (`Interrupt.requested`). Signals that arrive while a
    /// request is pending are one request (`timeout -s INT` signals the process and its group
    /// within microseconds), so the handling (a checkpoint, the interrupted message, status 130)
    /// always runs. Outside the REPL, a Ctrl-C more than `forceAfter` seconds after a request
    /// that nothing has picked up (a hang outside any checked loop) ends the process with 130.
    /// At the REPL prompt Ctrl-C clears the line; in the REPL a pending request is never forced
    /// (that would lose the session's variables).
    /// Under mpirun, Distributed handles SIGINT and SIGTERM instead (docs/distributed.md).
    public static func installInterruptHandler() {
        if Distributed.active { return }
        signal(SIGINT) { _ in
            if REPLState.atPrompt {
                REPLState.clearLine()
                return
            }
            let now = Interrupt.monotonicSeconds()
            if Interrupt.requested {
                if REPLState.current == nil, now - Interrupt.requestedAt > Runner.forceAfter {
                    let msg = "\nadv: interrupted again; exiting without cleanup\n"
                    _ = msg.withCString { Glibc.write(2, $0, strlen($0)) }
                    _exit(130)
                }
                return
            }
            Interrupt.requestedAt = now
            Interrupt.requested = true
        }
    }

    /// Seconds a Ctrl-C request may stay unanswered before another Ctrl-C ends a script.
    public static let forceAfter = 3.0
}
