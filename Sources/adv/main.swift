// The `adv` command line (thin): see Runtime for everything it drives.
//   adv                  REPL when stdin is a terminal, else runs the script on stdin
//   adv FILE.adv ARGS... runs a script (`args` holds ARGS)
//   adv -e CODE          evaluates CODE
//   adv -i FILE.adv      runs the script, then the REPL with its variables
// Exit status: 0 success, 1 runtime error, 2 usage or syntax error, 130 interrupted.
import ArgumentParser
import Foundation
import Engine
import Runtime

struct Adv: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adv",
        abstract: "A scripting language and REPL for adversarial-robustness experiments.",
        discussion: """
            With no FILE, starts the REPL when standard input is a terminal and otherwise runs \
            the script read from standard input. Modules for `use NAME` are found in the \
            directories of ADV_PATH (colon-separated), then in PREFIX/share/adv/stdlib of an \
            installed adv (or the stdlib folder of the source tree). The REPL keeps its history \
            in ~/.adv_history (ADV_HISTFILE moves it); ADV_PROGRESS=0 silences progress lines.
            Exit status: 0 success, 1 runtime error, 2 usage or syntax error, 130 interrupted.
            """,
        version: "adv \(Version.full)")

    @Option(name: .short, help: ArgumentHelp("Evaluate CODE and exit.", valueName: "CODE"))
    var e: String?

    @Flag(name: .short, help: "Run FILE (or -e CODE), then start the REPL with its variables (as python -i).")
    var i = false

    @Flag(name: .customLong("builtins-markdown"), help: .hidden)
    var builtinsMarkdown = false

    @Argument(help: ArgumentHelp("The script to run (.adv).", valueName: "FILE"))
    var file: String?

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("Arguments for the script, in `args`.", valueName: "ARGS"))
    var args: [String] = []

    func run() throws {
        if builtinsMarkdown {
            Console.out(BuiltinsMarkdown.generate())
            return
        }
        let code: Int32
        if i {
            let f = file == "-" ? nil : file
            code = Runner.runThenREPL(path: e == nil ? f : nil, code: e, args: e == nil ? args : ([file].compactMap { $0 }) + args)
        } else if let e = e {
            code = Runner.runCode(e, args: ([file].compactMap { $0 }) + args)
        } else if let f = file, f != "-" {
            code = Runner.runFile(path: f, args: args)
        } else if isatty(0) != 0 {
            code = REPL().run()
        } else {
            code = Runner.runStdin(args: args)
        }
        throw ExitCode(code)
    }
}

Console.prepare()  // before anything opens a file: closed stdin/stdout/stderr, SIGPIPE
do {
    var command = try Adv.parseAsRoot()
    try command.run()
} catch let code as ExitCode {
    exit(code.rawValue)
} catch {
    let status = Adv.exitCode(for: error)
    if status == .success {
        Console.out(Adv.fullMessage(for: error) + "\n")
        exit(0)
    }
    Console.err(Adv.fullMessage(for: error) + "\n")
    exit(2)
}
