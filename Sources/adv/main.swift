// The `adv` command line (thin): see Runtime for everything it drives.
//   adv                  REPL when stdin is a terminal, else runs the script on stdin
//   adv FILE.adv ARGS... runs a script (`# %%` cell markers are comments) (`args` holds ARGS)
//   adv -e CODE          evaluates CODE
//   adv notebook FILE.adv [-o OUT.html|OUT.md] [ARGS...]  runs the cells, writes a report
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
            `adv notebook FILE.adv [-o OUT.html|OUT.md] [ARGS...]` runs the file's cells and \
            writes a report (adv notebook --help).
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
Distributed.start()  // MPI only under mpirun (docs/distributed.md)

/// `adv notebook FILE.adv [-o OUT] [ARGS...]`: runs the file's cells in one session and writes
/// a report (docs/notebooks.md). Exit status: the failing cell's (1 runtime, 2 syntax), else 0.
struct NotebookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adv notebook",
        abstract: "Runs the cells of FILE.adv (`# %%` markers) in one session and writes a report.",
        discussion: """
            OUT ending in .html (default: FILE with .html) is one self-contained page; OUT ending \
            in .md is Markdown with the figures as SVG files in OUT_files/ beside it. A failing cell \
            shows its diagnostic in the report, later cells are marked not run, the report is still \
            written and the exit status is 1 (2 for a syntax error).
            """)

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("The report to write (.html or .md).", valueName: "OUT"))
    var output: String?

    @Argument(help: ArgumentHelp("The notebook (.adv, percent format).", valueName: "FILE"))
    var file: String

    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("Arguments for the notebook, in `args`.", valueName: "ARGS"))
    var args: [String] = []

    func run() throws {
        let out = output ?? (file.hasSuffix(".adv") ? String(file.dropLast(4)) : file) + ".html"
        guard [".html", ".htm", ".md"].contains(where: { out.lowercased().hasSuffix($0) }) else {
            throw ValidationError("-o must end in .html or .md, got \"\(out)\"")
        }
        let runner = NotebookRunner(args: args)
        runner.echo = { FileHandle.standardOutput.write(Data($0.utf8)) }
        let report = runner.run(path: file, args: args)
        do {
            try report.write(to: out)
        } catch {
            Runner.printError("adv notebook: error: cannot write \(out): \(error)")
            throw ExitCode(1)
        }
        Runner.printError("adv notebook: wrote \(out) (\(report.cells.count) cells, \(String(format: "%.1f", report.seconds)) s)")
        for c in report.cells {
            for case .error(let e) in c.outputs { Runner.printError(e) }
        }
        throw ExitCode(report.exitCode)
    }
}

if CommandLine.arguments.count > 1, CommandLine.arguments[1] == "notebook" {
    do {
        var command = try NotebookCommand.parseAsRoot(Array(CommandLine.arguments.dropFirst(2)))
        try command.run()
    } catch let code as ExitCode {
        Distributed.finish(status: code.rawValue)
    } catch {
        let status = NotebookCommand.exitCode(for: error)
        if status == .success {
            print(NotebookCommand.fullMessage(for: error))
            Distributed.finish(status: 0)
        }
        FileHandle.standardError.write(Data((NotebookCommand.fullMessage(for: error) + "\n").utf8))
        Distributed.finish(status: 2)
    }
}

do {
    var command = try Adv.parseAsRoot()
    try command.run()
} catch let code as ExitCode {
    Distributed.finish(status: code.rawValue)
} catch {
    let status = Adv.exitCode(for: error)
    if status == .success {
        Console.out(Adv.fullMessage(for: error) + "\n")
        Distributed.finish(status: 0)
    }
    Console.err(Adv.fullMessage(for: error) + "\n")
    Distributed.finish(status: 2)
}
