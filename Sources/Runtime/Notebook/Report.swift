// A report: what a run of cells (a notebook, or a REPL session) showed, with the facts a reader
// needs to trust it: date, adv version, seed, arguments, wall time per cell (docs/notebooks.md).
import Engine
import Foundation
import Tensor

public struct CellResult {
    public enum Status: String { case ok, failed, notRun = "not run" }
    public var kind: Cell.Kind
    public var title: String?
    /// The code, or the Markdown text.
    public var source: String
    public var outputs: [CellOutput] = []
    public var status: Status = .ok
    public var seconds: Double = 0
    /// The line of the cell's first line in the file (nil in a REPL session).
    public var line: Int?
}

public struct Report {
    public var title: String
    public var source: String
    public var date: Date = Date()
    public var version: String = Version.full
    /// The random seed: "0 (default)" or the last seed(n) of the run.
    public var seed: String = "0 (default)"
    public var args: [String] = []
    public var cells: [CellResult] = []
    public var seconds: Double = 0
    public var exitCode: Int32 = 0

    public init(title: String, source: String) {
        self.title = title
        self.source = source
    }

    /// "2026-12-06 01:40 UTC".
    var dateText: String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return f.string(from: date)
    }

    /// Writes the report: HTML when `path` ends in .html/.htm, Markdown (figures as SVG files in
    /// PATH_files/ beside it) when it ends in .md.
    /// - Throws: `RuntimeError.arguments` for another extension; I/O errors naming the path.
    public func write(to path: String) throws {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        switch ext {
        case "html", "htm":
            try AtomicFileText.write(ReportHTML.render(self), to: path)
        case "md", "markdown":
            try ReportMarkdown.write(self, to: path)
        default:
            throw RuntimeError.arguments("the report must end in .html or .md, got \"\(path)\"")
        }
    }
}

/// Atomic text writes through the engine's AtomicFile, with the error as a RuntimeError.
enum AtomicFileText {
    static func write(_ text: String, to path: String) throws {
        do { try AtomicFile.write(text, to: path) } catch let e as EngineError { throw RuntimeError.message(e.description) }
    }
}

/// The seed the session's generator started from (recorded by seed(n), see Notebook+Builtins.swift).
public enum SessionSeed {
    nonisolated(unsafe) public static var last: Int?
    static var text: String { last.map { "\($0) (set by seed(\($0)))" } ?? "0 (default)" }
}

