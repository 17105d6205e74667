// `adv notebook`: runs a file's cells in order in one session and collects what each showed:
// printed text, the value of a last bare expression, show(...) values, stderr (warnings and
// progress, captured by pointing fd 2 at a temporary file while the cell runs) and the
// diagnostic of a failing cell; later cells are then not run (docs/notebooks.md).
import Engine
import Foundation
import Tensor
import Lang

public final class NotebookRunner {
    public let interp: Interpreter
    /// Progress of the run ("[2/9] title ... 1.2 s") goes here (stderr by default).
    public var status: (String) -> Void = { Runner.printError($0) }
    /// Also passes printed text on to this (the terminal, for `adv notebook`); nil: only the report.
    public var echo: ((String) -> Void)?

    public init(args: [String]) {
        interp = Interpreter(args: args)
    }

    /// Runs the cells of the file at `path` and returns the report (its exitCode 0, 1, 2 or 130).
    public func run(path: String, args: [String]) -> Report {
        var report = Report(title: URL(fileURLWithPath: path).lastPathComponent, source: path)
        report.args = args
        let source: SourceFile
        do {
            source = try SourceLoader.load(path: path)
        } catch {
            var c = CellResult(kind: .code, title: nil, source: "", status: .failed)
            c.outputs = [.error(Runner.messageText(error, fallbackName: path))]
            report.cells = [c]
            report.exitCode = 2
            return report
        }
        run(Cells.split(source.text), name: source.name, into: &report)
        return report
    }

    /// Runs `cells` (a file named `name`), appending their results to `report`.
    public func run(_ cells: [Cell], name: String, into report: inout Report) {
        Runner.installInterruptHandler()
        SessionSeed.last = nil
        let start = ProcessInfo.processInfo.systemUptime
        let codeCells = cells.filter { $0.kind == .code }.count
        var n = 0
        for cell in cells {
            var r = CellResult(kind: cell.kind, title: cell.title, source: cell.text, line: cell.firstLine)
            if cell.kind == .markdown { report.cells.append(r); continue }
            n += 1
            if report.exitCode != 0 {
                r.status = .notRun
                report.cells.append(r)
                continue
            }
            let t0 = ProcessInfo.processInfo.systemUptime
            let code = runCell(cell, name: name, into: &r)
            r.seconds = ProcessInfo.processInfo.systemUptime - t0
            status("[\(n)/\(codeCells)] \(cell.title ?? "line \(cell.firstLine)") \(String(format: "%.1f s", r.seconds))\(code == 0 ? "" : " FAILED")")
            if code != 0 { r.status = .failed; report.exitCode = code }
            report.cells.append(r)
        }
        report.seconds = ProcessInfo.processInfo.systemUptime - start
        report.seed = SessionSeed.text
    }

    /// Runs one code cell; returns its exit status (0 when it ran to the end).
    func runCell(_ cell: Cell, name: String, into r: inout CellResult) -> Int32 {
        var outputs: [CellOutput] = []
        func add(_ o: CellOutput) {
            if case .stream(let s) = o, case .stream(let prev)? = outputs.last {
                outputs[outputs.count - 1] = .stream(prev + s)
            } else {
                outputs.append(o)
            }
        }
        let saved = (interp.output, interp.display)
        interp.output = { [echo] s in echo?(s); add(.stream(s)) }
        interp.display = { add(.display(Display.data(for: $0, types: ["text/plain", "text/html", "image/svg+xml"]))) }
        defer { (interp.output, interp.display) = saved }
        let source = SourceFile(name: name, text: cell.sourceText)
        let suppress = cell.text.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix(";")
        var code: Int32 = 0
        let captured = StderrCapture.run {
            Interrupt.requested = false
            let (stmts, diags) = Parser.parse(source)
            if !diags.isEmpty {
                add(.error(Diagnostics(diags).description))
                code = 2
                return
            }
            do {
                try interp.execute(stmts, in: interp.globals, echo: { v, stmt in
                    guard stmt === stmts.last, !suppress else { return }
                    if case .nil_ = v { return }
                    add(.display(Display.data(for: v, types: ["text/plain", "text/html", "image/svg+xml"])))
                })
            } catch {
                let (text, c) = Runner.describe(error)
                if let s = error as? ScriptError, case .interrupted = s.error {
                    add(.error("interrupted (Ctrl-C)"))
                    code = 130
                } else {
                    if let t = text { add(.error(t)) }
                    code = c
                }
            }
        }
        if !captured.isEmpty {
            // The log goes before the error, after what the cell printed.
            if case .error? = outputs.last { outputs.insert(.log(captured), at: outputs.count - 1) } else { outputs.append(.log(captured)) }
        }
        r.outputs = outputs
        return code
    }
}

/// Runs a body with standard error (fd 2) going to a temporary file and returns what was
/// written, with progress lines collapsed (text after the last carriage return of a line) and
/// long logs shortened to their start and end.
enum StderrCapture {
    static func run(_ body: () -> Void) -> String {
        let path = NSTemporaryDirectory() + "adv-stderr-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { body(); return "" }
        unlink(path)
        fflush(stderr)
        let saved = dup(2)
        dup2(fd, 2)
        body()
        fflush(stderr)
        dup2(saved, 2)
        close(saved)
        lseek(fd, 0, SEEK_SET)
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            bytes.append(contentsOf: buf[0..<n])
        }
        close(fd)
        return collapse(String(decoding: bytes, as: UTF8.self))
    }

    static func collapse(_ text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { l -> String in
            let last = l.split(separator: "\r", omittingEmptySubsequences: false).last.map(String.init) ?? ""
            var s = last
            while s.hasSuffix(" ") { s.removeLast() }
            return s
        }
        while lines.last == "" { lines.removeLast() }
        if lines.count > 60 {
            lines = Array(lines.prefix(20)) + ["... (\(lines.count - 50) lines left out) ..."] + Array(lines.suffix(30))
        }
        return lines.joined(separator: "\n")
    }
}
