// CSV for lists of records (docs/files.md): RFC 4180 quoting, a header row from the union of the
// records' fields in first-seen order; nested lists and records go in a cell as compact JSON.
// Reading gives numbers for cells that parse as numbers, true/false, nil for empty cells.
import Foundation

enum CSVCodec {
    /// The rows a value saves as: a list of records; one record whose equal-length lists of
    /// numbers (a sweep's eps and robust) become one row per element; or one plain record.
    static func rows(of v: Value, callee: String) throws -> [RecordBox] {
        switch v {
        case .list(let l):
            return try l.items.enumerated().map { i, item in
                guard case .record(let r) = item else {
                    throw RuntimeError.type("\(callee): element \(i + 1) of 'rows' must be a record, got \(item.typeName)")
                }
                return r
            }
        case .record(let r):
            let lengths = r.keys.compactMap { k -> Int? in
                guard case .list(let l)? = r[k], !l.items.isEmpty,
                      l.items.allSatisfy({ if case .number = $0 { return true }; return false }) else { return nil }
                return l.items.count
            }
            guard let n = lengths.max(), lengths.filter({ $0 == n }).count >= 2 else { return [r] }
            return (0..<n).map { i in
                RecordBox(r.keys.map { k in
                    if case .list(let l)? = r[k], l.items.count == n,
                       l.items.allSatisfy({ if case .number = $0 { return true }; return false }) { return (k, l.items[i]) }
                    return (k, r[k] ?? .nil_)
                })
            }
        default:
            throw RuntimeError.type("\(callee): argument 'rows' must be a list of records or a record, got \(v.typeName)")
        }
    }

    /// CSV text for `rows` (header first; "\n" line ends).
    static func encode(_ rows: [RecordBox]) throws -> String {
        var header: [String] = []
        var seen = Set<String>()
        for r in rows { for k in r.keys where seen.insert(k).inserted { header.append(k) } }
        var out = header.map(field).joined(separator: ",") + "\n"
        for (i, r) in rows.enumerated() {
            out += try header.map { k -> String in
                switch r[k] ?? .nil_ {
                case .nil_: return ""
                case .bool(let b): return b ? "true" : "false"
                case .number(let d): return formatNumber(d)
                case .string(let s): return field(s)
                case let other: return field(try JSONCodec.encode(other, pretty: false, path: "rows[\(i)].\(k)"))
                }
            }.joined(separator: ",") + "\n"
        }
        return out
    }

    static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || s != s.trimmingCharacters(in: .whitespaces) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Parses CSV text with a header row into records.
    /// - Throws: `RuntimeError.value` "NAME:LINE: why" for unterminated quotes or ragged rows.
    static func decode(_ text: String, name: String) throws -> [Value] {
        var records: [[String]] = []
        var row: [String] = []
        var cell = ""
        var quoted = false, wasQuoted = false
        var line = 1, rowLine = 1
        var it = Array(text.unicodeScalars)
        if it.first == "\u{FEFF}" { it.removeFirst() }
        var i = 0
        func endCell() { row.append(cell); cell = ""; wasQuoted = false }
        while i < it.count {
            let c = it[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < it.count, it[i + 1] == "\"" { cell.unicodeScalars.append("\""); i += 2; continue }
                    quoted = false
                } else {
                    if c == "\n" { line += 1 }
                    cell.unicodeScalars.append(c)
                }
                i += 1
                continue
            }
            switch c {
            case "\"":
                guard cell.isEmpty else { throw RuntimeError.value("\(name):\(line): not valid CSV: a quote inside an unquoted cell") }
                quoted = true; wasQuoted = true
            case ",": endCell()
            case "\r": break
            case "\n":
                endCell(); records.append(row); row = []; line += 1; rowLine = line
            default: cell.unicodeScalars.append(c)
            }
            i += 1
        }
        if quoted { throw RuntimeError.value("\(name):\(rowLine): not valid CSV: a quoted cell is not closed") }
        if !cell.isEmpty || !row.isEmpty || wasQuoted { endCell(); records.append(row) }
        guard let header = records.first else { return [] }
        return try records.dropFirst().enumerated().compactMap { n, cells -> Value? in
            if cells == [""] { return nil }  // blank line
            guard cells.count == header.count else {
                throw RuntimeError.value("\(name):\(n + 2): not valid CSV: \(cells.count) cells but the header has \(header.count)")
            }
            return .record(RecordBox(zip(header, cells).map { ($0, parseCell($1)) }))
        }
    }

    static func parseCell(_ s: String) -> Value {
        if s.isEmpty { return .nil_ }
        if s == "true" { return .bool(true) }
        if s == "false" { return .bool(false) }
        if let d = Double(s), s.first.map({ $0.isNumber || $0 == "-" || $0 == "." }) == true { return .number(d) }
        return .string(s)
    }
}
