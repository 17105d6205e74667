// The `adv` command line (thin): see Runtime for everything it drives.
//   adv                  REPL when stdin is a terminal, else runs the script on stdin
//   adv FILE.adv ARGS... runs a script (`# %%` cell markers are comments) (`args` holds ARGS)
//   adv -e CODE          evaluates CODE
//   adv notebook FILE.adv [-o OUT.html|OUT.md] [ARGS...]  runs the cells, writes a report
//   adv -i FILE.adv      runs the script, then the REPL with its variables
//   adv kernel CONNECTION_FILE            the Jupyter kernel (started by Jupyter)
//   adv kernel install [--user | --prefix P]  writes its kernel spec
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
            `adv kernel install [--user | --prefix P]` installs the Jupyter kernel, which Jupyter \
            starts as `adv kernel CONNECTION_FILE` (adv kernel --help).
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

/// `adv kernel CONNECTION_FILE` and `adv kernel install [--user | --prefix P]`: the Jupyter
/// kernel and its installation (docs/notebooks.md).
struct KernelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adv kernel",
        abstract: "The Jupyter kernel for adv, or `install` to write its kernel spec.",
        discussion: """
            Jupyter starts `adv kernel CONNECTION_FILE` itself once the spec is installed. \
            `adv kernel install` writes kernels/adv (kernel.json and logos) into \
            /usr/local/share/jupyter, with --user into ~/.local/share/jupyter (or \
            JUPYTER_DATA_DIR), with --prefix P into P/share/jupyter; `jupyter kernelspec list` \
            then shows adv. Exit status 2 for a missing or invalid connection file.
            """)

    @Flag(help: "With install: install for this user (~/.local/share/jupyter).")
    var user = false

    @Option(help: ArgumentHelp("With install: install into P/share/jupyter.", valueName: "P"))
    var prefix: String?

    @Argument(help: ArgumentHelp("`install`, or the connection file Jupyter wrote.", valueName: "CONNECTION_FILE"))
    var target: String

    func validate() throws {
        if target != "install" && (user || prefix != nil) { throw ValidationError("--user and --prefix go with `adv kernel install`") }
        if user && prefix != nil { throw ValidationError("give --user or --prefix, not both") }
    }

    func run() throws {
        guard target == "install" else { throw ExitCode(Kernel.main(connectionFile: target)) }
        do {
            let dir = try KernelSpec.install(user: user, prefix: prefix)
            print("adv kernel: installed the kernel spec in \(dir)")
        } catch {
            Runner.printError("\(error)")
            throw ExitCode(1)
        }
    }
}

/// Parses `arguments` (nil: the process's) as `C` and runs it, then exits: 0 on success, the
/// command's ExitCode, 0 for --help/--version, 2 for a usage error.
func runAndExit<C: ParsableCommand>(_: C.Type, _ arguments: [String]? = nil) -> Never {
    do {
        var command = try C.parseAsRoot(arguments)
        try command.run()
        Distributed.finish(status: 0)
    } catch let code as ExitCode {
        Distributed.finish(status: code.rawValue)
    } catch {
        if C.exitCode(for: error) == .success {
            Console.out(C.fullMessage(for: error) + "\n")
            Distributed.finish(status: 0)
        }
        Console.err(C.fullMessage(for: error) + "\n")
        Distributed.finish(status: 2)
    }
}

if CommandLine.arguments.count > 1, CommandLine.arguments[1] == "notebook" {
    runAndExit(NotebookCommand.self, Array(CommandLine.arguments.dropFirst(2)))
}
if CommandLine.arguments.count > 1, CommandLine.arguments[1] == "kernel" {
    runAndExit(KernelCommand.self, Array(CommandLine.arguments.dropFirst(2)))
}
runAndExit(Adv.self)
