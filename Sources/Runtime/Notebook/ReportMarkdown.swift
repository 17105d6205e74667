// The report as Markdown (docs/notebooks.md): cells as fenced code with their outputs; figures
// and grids are SVG files in a folder beside the report (NAME_files/), tables stay pipe tables.
import Foundation

enum ReportMarkdown {
    static func write(_ r: Report, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let base = url.deletingPathExtension().lastPathComponent + "_files"
        let dir = url.deletingLastPathComponent().appendingPathComponent(base).path
        var files: [(String, String)] = []
        var md = "# \(r.title)\n\n"
        md += "date: \(r.dateText) · adv \(r.version) · seed \(r.seed) · wall time \(ReportHTML.duration(r.seconds)) · source `\(r.source)`"
        md += r.exitCode == 0 ? "\n\n" : " · **stopped by an error (exit status \(r.exitCode))**\n\n"
        var n = 0
        for c in r.cells {
            if c.kind == .markdown { md += c.source + "\n\n"; continue }
            n += 1
            let time = c.status == .ok ? ReportHTML.duration(c.seconds) : c.status == .failed ? "failed after \(ReportHTML.duration(c.seconds))" : "not run"
            md += "**[\(n)]\(c.title.map { " \($0)" } ?? "")** _(\(time))_\n\n```\n\(c.source)\n```\n\n"
            for o in c.outputs {
                switch o {
                case .stream(let s): md += textBlock(s)
                case .display(let d):
                    if let svg = d.bundle["image/svg+xml"] {
                        let name = "figure-\(files.count + 1).svg"
                        files.append((name, svg))
                        md += "![figure \(files.count)](\(base)/\(name))\n\n"
                    } else {
                        md += textBlock(d.plain)
                    }
                case .log(let s): md += "<details><summary>stderr</summary>\n\n```\n\(s)\n```\n\n</details>\n\n"
                case .error(let s): md += "**Error:**\n\n```\n\(s)\n```\n\n"
                }
            }
        }
        if !files.isEmpty {
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for (name, svg) in files { try AtomicFileText.write(svg, to: dir + "/" + name) }
        }
        try AtomicFileText.write(md, to: path)
    }

    /// Printed text: pipe-table lines pass through (Markdown renders them), the rest is fenced.
    static func textBlock(_ s: String) -> String {
        var out = "", pre: [String] = []
        func flush() {
            while pre.last == "" { pre.removeLast() }
            if !pre.isEmpty { out += "```\n" + pre.joined(separator: "\n") + "\n```\n\n" }
            pre = []
        }
        var table = false
        for line in s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let isRow = line.hasPrefix("|") && line.hasSuffix("|")
            if isRow { if !table { flush() }; out += line + "\n"; table = true; continue }
            if table { out += "\n"; table = false }
            pre.append(line)
        }
        if table { out += "\n" }
        flush()
        return out
    }
}
