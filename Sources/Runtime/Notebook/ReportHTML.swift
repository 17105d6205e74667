// The report as one self-contained HTML page (docs/notebooks.md): inline CSS, figures as inline
// SVG, images as PNG data URIs inside them, no scripts and nothing fetched from the network.
// Every cell is a <section class="cell ..."> with data-status, so tests can check the DOM.
import Foundation

enum ReportHTML {
    static func render(_ r: Report) -> String {
        var h = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="adv \(escapeXML(r.version))">
        <title>\(escapeXML(r.title))</title>
        <style>\(css)</style>
        </head>
        <body>
        <main>
        <header class="report-head">
        <h1>\(escapeXML(r.title))</h1>
        <dl class="meta">
        <div><dt>date</dt><dd id="meta-date">\(escapeXML(r.dateText))</dd></div>
        <div><dt>adv</dt><dd id="meta-version">\(escapeXML(r.version))</dd></div>
        <div><dt>seed</dt><dd id="meta-seed">\(escapeXML(r.seed))</dd></div>
        <div><dt>wall time</dt><dd id="meta-time">\(duration(r.seconds))</dd></div>
        <div><dt>source</dt><dd><code>\(escapeXML(r.source))</code>\(r.args.isEmpty ? "" : " " + escapeXML(r.args.joined(separator: " ")))</dd></div>
        <div><dt>status</dt><dd id="meta-status" class="\(r.exitCode == 0 ? "ok" : "failed")">\(r.exitCode == 0 ? "all cells ran" : "stopped by an error (exit status \(r.exitCode))")</dd></div>
        </dl>
        </header>

        """
        var n = 0
        for c in r.cells {
            if c.kind == .markdown {
                h += "<section class=\"cell markdown\">\n" + Markdown.html(c.source) + "</section>\n"
                continue
            }
            n += 1
            h += "<section class=\"cell code \(c.status == .notRun ? "not-run" : c.status.rawValue)\" data-status=\"\(c.status.rawValue)\" id=\"cell-\(n)\">\n"
            h += "<div class=\"cell-head\"><span class=\"cell-n\">[\(n)]</span>"
            if let t = c.title { h += "<span class=\"cell-title\">\(escapeXML(t))</span>" }
            h += "<span class=\"cell-time\">"
            switch c.status {
            case .ok: h += duration(c.seconds)
            case .failed: h += "failed after " + duration(c.seconds)
            case .notRun: h += "not run"
            }
            h += "</span></div>\n"
            if !c.source.isEmpty { h += "<pre class=\"code\">" + highlight(c.source) + "</pre>\n" }
            if !c.outputs.isEmpty {
                h += "<div class=\"outputs\">\n"
                for o in c.outputs { h += output(o) }
                h += "</div>\n"
            }
            h += "</section>\n"
        }
        h += "<footer>Written by <code>adv notebook</code> \(escapeXML(r.version)) on \(escapeXML(r.dateText)).</footer>\n</main>\n</body>\n</html>\n"
        return h
    }

    static func output(_ o: CellOutput) -> String {
        switch o {
        case .stream(let s):
            return "<div class=\"output stream\">\n" + HTMLText.printed(s) + "</div>\n"
        case .display(let d):
            if let svg = d.bundle["image/svg+xml"] {
                let panels = svg.components(separatedBy: "<g class=\"panel\"").count - 1
                let kind = svg.contains("class=\"grid-row\"") ? "grid" : panels > 1 ? "figure wide" : "figure"
                return "<figure class=\"output \(kind)\">\n" + svg + "</figure>\n"
            }
            if let png = d.bundle["image/png"] {
                return "<figure class=\"output image\"><img alt=\"figure\" src=\"data:image/png;base64,\(png)\"></figure>\n"
            }
            if let html = d.bundle["text/html"] { return "<div class=\"output value\">\n" + html + "</div>\n" }
            return "<div class=\"output value\"><pre class=\"out\">" + escapeXML(d.plain) + "</pre></div>\n"
        case .log(let s):
            let warn = s.lowercased().contains("warning")
            return "<details class=\"output log\"\(warn ? " open" : "")><summary>\(warn ? "warnings and progress" : "progress") (stderr, \(s.split(separator: "\n").count) lines)</summary><pre>" + escapeXML(s) + "</pre></details>\n"
        case .error(let s):
            return "<div class=\"output error\"><pre>" + escapeXML(s) + "</pre></div>\n"
        }
    }

    /// Code with comments and strings marked for colour (a light touch: no parser needed).
    static func highlight(_ code: String) -> String {
        code.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            var out = "", inString = false, i = line.startIndex
            while i < line.endIndex {
                let ch = line[i]
                if !inString && ch == "#" {
                    out += "<span class=\"c\">" + escapeXML(String(line[i...])) + "</span>"
                    break
                }
                if ch == "\"" {
                    if inString { out += "\"</span>" } else { out += "<span class=\"s\">\"" }
                    inString.toggle()
                } else if ch == "\\" && inString, line.index(after: i) < line.endIndex {
                    out += escapeXML(String(line[i...line.index(after: i)]))
                    i = line.index(after: i)
                } else {
                    out += escapeXML(String(ch))
                }
                i = line.index(after: i)
            }
            if inString { out += "</span>" }
            return out
        }.joined(separator: "\n")
    }

    static func duration(_ s: Double) -> String {
        if s < 1 { return String(format: "%.0f ms", s * 1000) }
        if s < 60 { return String(format: "%.1f s", s) }
        return String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60)
    }

    static let css = """
    :root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#ffffff;--code:#f6f8fa;--accent:#0969da;--bad:#cf222e}
    *{box-sizing:border-box}
    body{margin:0;background:#f3f4f6;color:var(--fg);font:15px/1.55 -apple-system,"Segoe UI","DejaVu Sans",Helvetica,Arial,sans-serif}
    main{max-width:1180px;margin:0 auto;padding:24px 20px 48px}
    .report-head{background:var(--bg);border:1px solid var(--line);border-radius:10px;padding:18px 24px;margin-bottom:18px}
    .report-head h1{margin:0 0 10px;font-size:24px}
    .meta{display:flex;flex-wrap:wrap;gap:6px 28px;margin:0}
    .meta div{display:flex;gap:8px}.meta dt{color:var(--muted)}.meta dd{margin:0;font-weight:600}
    .meta dd.failed{color:var(--bad)}.meta dd.ok{color:#1a7f37}
    .cell{background:var(--bg);border:1px solid var(--line);border-radius:10px;margin:14px 0;padding:14px 20px;overflow-x:auto}
    .cell.markdown{background:transparent;border:none;padding:4px 8px}
    .cell.markdown h1,.cell.markdown h2,.cell.markdown h3{margin:18px 0 6px;line-height:1.25}
    .cell.markdown p{margin:6px 0}
    .cell-head{display:flex;gap:12px;align-items:baseline;margin-bottom:8px;color:var(--muted);font-size:13px}
    .cell-n{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;color:var(--accent)}
    .cell-title{font-weight:600;color:var(--fg);font-size:14px}
    .cell-time{margin-left:auto}
    .cell.failed{border-color:var(--bad)}.cell.failed .cell-time{color:var(--bad);font-weight:600}
    .cell.not-run{opacity:.55}.cell.not-run .cell-time{font-style:italic}
    pre{margin:0;font:13px/1.45 "DejaVu Sans Mono",Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-word}
    pre.code{background:var(--code);border:1px solid #e5e7eb;border-radius:6px;padding:10px 12px}
    pre.code .c{color:#6e7781;font-style:italic}pre.code .s{color:#0a3069}
    pre.md-code{background:var(--code);border-radius:6px;padding:10px 12px}
    code{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.9em;background:var(--code);padding:1px 4px;border-radius:4px}
    .outputs{margin-top:10px;display:flex;flex-direction:column;gap:10px}
    .output pre.out{padding:2px 2px}
    .output.error pre{background:#ffebe9;border:1px solid #ffcecb;border-radius:6px;padding:10px 12px;color:#82071e}
    details.log summary{cursor:pointer;color:var(--muted);font-size:13px}
    details.log pre{background:#fafafa;border-radius:6px;padding:8px 12px;color:#57606a;font-size:12px;margin-top:4px}
    figure{margin:0}figure svg{max-width:100%;height:auto;border:1px solid #eaeef2;border-radius:6px}
    figure.figure svg{width:720px}figure.figure.wide svg{width:100%}
    table.data{border-collapse:collapse;font-size:14px;margin:2px 0}
    table.data th,table.data td{border:1px solid var(--line);padding:5px 12px;text-align:left}
    table.data thead th{background:var(--code)}table.data td.num{text-align:right;font-variant-numeric:tabular-nums}
    table.data tbody tr:nth-child(even){background:#fbfbfc}
    table.record th{background:var(--code);font-weight:600}
    footer{color:var(--muted);font-size:13px;margin-top:24px;text-align:center}
    """
}
