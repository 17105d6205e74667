// JSON for script values (docs/files.md): records keep their field order both ways, tensors
// write as nested lists, non-finite numbers as null. The reader works on UTF-8 bytes and
// reports the line and column of the first problem.
import Engine
import Foundation

enum JSONCodec {
    /// The JSON text of `v`; `pretty` indents nested lists and records by two spaces.
    /// - Throws: `RuntimeError.type` naming the path (e.g. `rows[2].model`) of a value JSON cannot hold.
    static func encode(_ v: Value, pretty: Bool = true, path: String = "value") throws -> String {
        var out = ""
        try write(v, into: &out, indent: pretty ? 0 : nil, path: path, depth: 0)
        return out
    }

    private static func write(_ v: Value, into out: inout String, indent: Int?, path: String, depth: Int) throws {
        guard depth < 200 else { throw RuntimeError.value("\(path): nested too deeply for JSON (more than 200 levels)") }
        let nl = indent.map { "\n" + String(repeating: "  ", count: $0 + 1) } ?? ""
        let close = indent.map { "\n" + String(repeating: "  ", count: $0) } ?? ""
        let sep = indent == nil ? ":" : ": "
        switch v {
        case .nil_: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let d): out += d.isFinite ? formatNumber(d) : "null"
        case .string(let s): out += quote(s)
        case .list(let l):
            if l.items.isEmpty { out += "[]"; return }
            // Lists of plain numbers stay on one line (curves, eps lists).
            let flat = l.items.allSatisfy { if case .number = $0 { return true }; return false }
            out += "["
            for (i, item) in l.items.enumerated() {
                if i > 0 { out += "," }
                out += flat ? (i > 0 && indent != nil ? " " : "") : nl
                try write(item, into: &out, indent: indent.map { $0 + 1 }, path: "\(path)[\(i)]", depth: depth + 1)
            }
            out += (flat ? "" : close) + "]"
        case .record(let r):
            if r.keys.isEmpty { out += "{}"; return }
            out += "{"
            for (i, k) in r.keys.enumerated() {
                if i > 0 { out += "," }
                out += nl + quote(k) + sep
                try write(r.fields[k] ?? .nil_, into: &out, indent: indent.map { $0 + 1 }, path: "\(path).\(k)", depth: depth + 1)
            }
            out += close + "}"
        case .object(let o):
            if let t = o as? TensorObject {
                try write(TensorObject.toValue(t.tensor), into: &out, indent: indent, path: path, depth: depth)
            } else if let j = o as? JSONConvertible {
                try write(j.jsonValue(), into: &out, indent: indent, path: path, depth: depth)
            } else {
                throw RuntimeError.type("\(path) is a \(o.typeName), which JSON cannot hold (numbers, strings, booleans, nil, lists, records and tensors can)")
            }
        case .function, .builtin, .module:
            throw RuntimeError.type("\(path) is a \(v.typeName), which JSON cannot hold (numbers, strings, booleans, nil, lists, records and tensors can)")
        }
    }

    /// A JSON string literal.
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    /// Parses JSON bytes into a value (objects become records in file order).
    /// - Throws: `RuntimeError.value` "NAME:LINE:COL: why" for invalid UTF-8 or JSON.
    static func decode(_ bytes: [UInt8], name: String) throws -> Value {
        var p = Parser(bytes: bytes, name: name)
        if let bad = firstInvalidUTF8(bytes) {
            p.pos = bad
            throw p.fail("not valid UTF-8 (byte 0x\(String(bytes[bad], radix: 16)) at offset \(bad))")
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { p.pos = 3 }
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.pos == bytes.count else { throw p.fail("unexpected text after the JSON value") }
        return v
    }

    private struct Parser {
        let bytes: [UInt8]
        let name: String
        var pos = 0

        init(bytes: [UInt8], name: String) { self.bytes = bytes; self.name = name }

        func fail(_ why: String) -> RuntimeError {
            var line = 1, col = 1
            for b in bytes[0..<min(pos, bytes.count)] { if b == 0x0A { line += 1; col = 1 } else if b & 0xC0 != 0x80 { col += 1 } }
            return .value("\(name):\(line):\(col): not valid JSON: \(why)")
        }

        mutating func skipSpace() {
            while pos < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[pos]) { pos += 1 }
        }

        mutating func expect(_ word: String, _ v: Value) throws -> Value {
            let w = Array(word.utf8)
            guard bytes.count - pos >= w.count, Array(bytes[pos..<pos + w.count]) == w else { throw fail("unexpected character") }
            pos += w.count
            return v
        }

        mutating func value(depth: Int) throws -> Value {
            guard depth < 200 else { throw fail("nested more than 200 levels deep") }
            guard pos < bytes.count else { throw fail("unexpected end of file") }
            switch bytes[pos] {
            case UInt8(ascii: "{"):
                pos += 1
                let r = RecordBox()
                skipSpace()
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return .record(r) }
                while true {
                    skipSpace()
                    guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected a field name in quotes") }
                    let k = try string()
                    skipSpace()
                    guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw fail("expected ':' after a field name") }
                    pos += 1
                    skipSpace()
                    r[k] = try value(depth: depth + 1)
                    skipSpace()
                    guard pos < bytes.count else { throw fail("unexpected end of file inside an object") }
                    if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                    if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .record(r) }
                    throw fail("expected ',' or '}' in an object")
                }
            case UInt8(ascii: "["):
                pos += 1
                var items: [Value] = []
                skipSpace()
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return .list(ListBox(items)) }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    guard pos < bytes.count else { throw fail("unexpected end of file inside a list") }
                    if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                    if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .list(ListBox(items)) }
                    throw fail("expected ',' or ']' in a list")
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try expect("true", .bool(true))
            case UInt8(ascii: "f"): return try expect("false", .bool(false))
            case UInt8(ascii: "n"): return try expect("null", .nil_)
            default: return .number(try number())
            }
        }

        mutating func number() throws -> Double {
            let start = pos
            while pos < bytes.count, "+-0123456789.eE".utf8.contains(bytes[pos]) { pos += 1 }
            let text = String(decoding: bytes[start..<pos], as: UTF8.self)
            guard !text.isEmpty, let d = Double(text), d.isFinite else { pos = start; throw fail("unexpected character") }
            return d
        }

        mutating func string() throws -> String {
            pos += 1  // opening quote
            var out = [UInt8]()
            while pos < bytes.count {
                let b = bytes[pos]
                pos += 1
                if b == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
                if b < 0x20 { pos -= 1; throw fail("control character inside a string") }
                guard b == UInt8(ascii: "\\") else { out.append(b); continue }
                guard pos < bytes.count else { break }
                let e = bytes[pos]
                pos += 1
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code), bytes.count - pos >= 6, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") {
                        pos += 2
                        let low = try hex4()
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    out.append(contentsOf: Array(String(Unicode.Scalar(code).map { Character($0) } ?? "\u{FFFD}").utf8))
                default: out.append(e)  // \" \\ \/
                }
            }
            throw fail("unterminated string")
        }

        mutating func hex4() throws -> UInt32 {
            guard bytes.count - pos >= 4, let v = UInt32(String(decoding: bytes[pos..<pos + 4], as: UTF8.self), radix: 16) else {
                throw fail("bad \\u escape")
            }
            pos += 4
            return v
        }
    }
}

/// Host objects that save to JSON/CSV as a plain value (a figure's data, a grid's labels).
protocol JSONConvertible { func jsonValue() -> Value }

/// The offset of the first byte that is not part of valid UTF-8, or nil.
func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
    var i = 0
    let n = bytes.count
    while i < n {
        let b = bytes[i]
        if b < 0x80 { i += 1; continue }
        let len: Int
        if b & 0xE0 == 0xC0, b >= 0xC2 { len = 2 } else if b & 0xF0 == 0xE0 { len = 3 } else if b & 0xF8 == 0xF0, b <= 0xF4 { len = 4 } else { return i }
        guard i + len <= n else { return i }
        for k in 1..<len where bytes[i + k] & 0xC0 != 0x80 { return i }
        if String(validating: bytes[i..<i + len], as: UTF8.self) == nil { return i }
        i += len
    }
    return nil
}
