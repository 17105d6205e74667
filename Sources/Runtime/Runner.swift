// Running scripts for the command line: files, `-e` code and standard input, with errors
// reported on stderr and the exit status of the contract (0 ok, 1 runtime error, 2 syntax/usage).
import Engine
import Tensor
import Foundation
import Lang

public enum Runner {
    /// Writes to standard error.
    public static func printError(_ s: String) {
        FileHandle.standardError.write(Data((s.hasSuffix("\n") ? s : s + "\n").utf8))
    }

    /// Runs the script at `path` with `args` bound to `args`.
    /// - Returns: the exit status.
    public static func runFile(path: String, args: [String]) -> Int32 {
        let source: SourceFile
        do {
            source = try SourceLoader.load(path: path)
        } catch {
            printError(messageText(error, fallbackName: path))
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
        let data = FileHandle.standardInput.readDataToEndOfFile()
        do {
            return run(try SourceLoader.decode(Array(data), name: "<stdin>"), args: args)
        } catch {
            printError(messageText(error, fallbackName: "<stdin>"))
            return 2
        }
    }

    /// Parses and runs a source, printing any error.
    public static func run(_ source: SourceFile, args: [String]) -> Int32 {
        installInterruptHandler()
        let interp = Interpreter(args: args)
        do {
            try interp.run(source)
            return 0
        } catch {
            return report(error)
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

    /// Ctrl-C asks running code to stop (`Interrupt.requested`); a second Ctrl-C before it
    /// stops ends the process. At the REPL prompt it clears the line instead.
    public static func installInterruptHandler() {
        signal(SIGINT) { _ in
            if REPLState.atPrompt {
                REPLState.clearLine()
                return
            }
            if Interrupt.requested { _exit(130) }
            Interrupt.requested = true
        }
    }
}
