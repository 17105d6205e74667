// Builtins: files (docs/files.md). JSON, CSV, text, safetensors and PNG, each written atomically
// (temporary file + rename: nothing half-written), each error naming the path and the reason.
import Engine
import Foundation
import Tensor

enum FilesBuiltins {
    static func register(into t: inout BuiltinTable) {
        t.add("save_json", "save_json(value, path, pretty: true)",
              doc: """
                  Writes `value` (numbers, strings, booleans, nil, lists, records, tensors as nested
                  lists; e.g. an evaluate() or sweep() record, a fit() result or a list of table()
                  rows) to `path` as JSON, atomically.

                  Records keep their field order; nan and inf are written as null (JSON has
                  neither). `pretty: false` writes one line. Returns nil.
                  """) { a, _ in
            guard let v = a.value("value", at: 0) else { throw RuntimeError.arguments("save_json: missing argument 'value'") }
            let path = try a.string("path", at: 1)
            let text = try JSONCodec.encode(v, pretty: try a.bool("pretty", default: true))
            try writeFile(Data((text + "\n").utf8), path, "save_json")
            return .nil_
        }

        t.add("load_json", "load_json(path)",
              doc: """
                  Reads a JSON file: objects become records (fields in file order), arrays lists,
                  null nil.

                  A file that is not UTF-8 or not valid JSON is an error naming the file, line and
                  column. save_json then load_json gives back an equal value (tensors come back as
                  nested lists).
                  """) { a, _ in
            let path = try a.string("path", at: 0)
            return try JSONCodec.decode(try readFile(path, "load_json"), name: path)
        }

        t.add("save_csv", "save_csv(rows, path)",
              doc: """
                  Writes a list of records (e.g. evaluate() results, table() rows) to `path` as CSV,
                  atomically: a header with every field in first-seen order, one line per record,
                  RFC 4180 quoting, nil as an empty cell, nested lists and records as compact JSON.

                  One record whose fields include equal-length lists of numbers (a sweep() result:
                  eps and robust) writes one line per element. Returns nil.
                  """) { a, _ in
            guard let v = a.value("rows", at: 0) else { throw RuntimeError.arguments("save_csv: missing argument 'rows'") }
            let path = try a.string("path", at: 1)
            let text = try CSVCodec.encode(try CSVCodec.rows(of: v, callee: "save_csv"))
            try writeFile(Data(text.utf8), path, "save_csv")
            return .nil_
        }

        t.add("load_csv", "load_csv(path)",
              doc: """
                  Reads a CSV file with a header row as a list of records: cells that read as
                  numbers become numbers, true/false booleans, empty cells nil, everything else
                  strings.

                  A file that is not UTF-8, has an unclosed quote or a row with the wrong number of
                  cells is an error naming the file and line.
                  """) { a, _ in
            let path = try a.string("path", at: 0)
            let text = try utf8Text(try readFile(path, "load_csv"), path)
            return .list(ListBox(try CSVCodec.decode(text, name: path)))
        }

        t.add("read_text", "read_text(path)",
              doc: "The contents of a UTF-8 text file as a string; a file that is not UTF-8 is an error naming the byte offset.") { a, _ in
            let path = try a.string("path", at: 0)
            return .string(try utf8Text(try readFile(path, "read_text"), path))
        }

        t.add("write_text", "write_text(text, path)",
              doc: "Writes the string `text` to `path` as UTF-8, atomically (no newline is added). Returns nil.") { a, _ in
            let text = try a.string("text", at: 0)
            try writeFile(Data(text.utf8), try a.string("path", at: 1), "write_text")
            return .nil_
        }

        t.add("save_tensors", "save_tensors(tensors, path, dtype: \"f32\")",
              doc: "Writes a record of tensors (field name -> tensor) to `path` as safetensors, atomically, in field order: PyTorch reads it with safetensors.torch.load_file. `dtype` \"f32\" | \"f16\" | \"bf16\" (rounded to nearest even). Returns nil.") { a, _ in
            guard case .record(let r)? = a.value("tensors", at: 0) else {
                throw RuntimeError.type("save_tensors: argument 'tensors' must be a record of tensors such as {x: x, y: y}, got \(a.value("tensors", at: 0)?.typeName ?? "nothing")")
            }
            let path = try a.string("path", at: 1)
            let dtype = Safetensors.DType(rawValue: try a.choice("dtype", ["f32", "f16", "bf16"], default: "f32").uppercased()) ?? .f32
            guard !r.keys.isEmpty else { throw RuntimeError.arguments("save_tensors: the record 'tensors' is empty") }
            let entries = try r.keys.map { k -> (name: String, tensor: Tensor, dtype: Safetensors.DType) in
                guard case .object(let o)? = r[k], let t = o as? TensorObject else {
                    throw RuntimeError.type("save_tensors: field '\(k)' must be a tensor, got \(r[k]?.typeName ?? "nil")")
                }
                return (k, t.tensor, dtype)
            }
            do { try Safetensors.write(entries, metadata: ["format": "pt"], to: path) } catch let e as EngineError {
                throw RuntimeError.engine(e)
            }
            return .nil_
        }

        t.add("load_tensors", "load_tensors(path)",
              doc: "Reads a safetensors file (e.g. written by save_tensors or safetensors.torch.save_file) as a record of float32 tensors, fields in name order. A truncated or corrupt file is an error naming it.") { a, _ in
            let path = try a.string("path", at: 0)
            let bytes = try readFile(path, "load_tensors")
            do {
                let (entries, _) = try Safetensors.parse(Data(bytes), name: path)
                return .record(RecordBox(entries.keys.sorted().map { ($0, TensorObject.wrap(entries[$0]!.tensor)) }))
            } catch let e as EngineError { throw RuntimeError.engine(e) }
        }

        t.add("save_image", "save_image(image, path)",
              doc: "Writes an image as PNG, atomically: a C x H x W tensor (or 1 x C x H x W; C = 1 gray or 3 RGB; pixels in [0, 1], clamped) or a grid(...) (its images without the labels; save(g, \"g.png\") draws the labels too). Returns nil.") { a, _ in
            let path = try a.string("path", at: 1)
            let img: PixelImage
            if case .object(let o)? = a.value("image", at: 0), let g = o as? GridObject {
                img = g.grid.composite()
            } else {
                img = try pixelImage(TensorObject.tensor(a, "image", at: 0), "save_image")
            }
            let png: [UInt8]
            do { png = try ImageFile.encodePNG(img) } catch let e as EngineError { throw RuntimeError.engine(e) }
            try writeFile(Data(png), path, "save_image")
            return .nil_
        }

        t.add("load_image", "load_image(path, channels: nil)",
              doc: "Reads a PNG (or JPEG) file as a C x H x W tensor with pixels in [0, 1] (x / 255); `channels` 1 or 3 converts, by default gray files give 1 channel and colour files 3. A truncated or corrupt file is an error naming it.") { a, _ in
            let path = try a.string("path", at: 0)
            let channels = try a.int("channels", default: 0)
            guard [0, 1, 3].contains(channels) else { throw RuntimeError.arguments("load_image: channels must be 1 or 3, got \(channels)") }
            let bytes = try readFile(path, "load_image")
            do {
                let img = try ImageFile.decode(bytes, channels: channels, source: path)
                let t = Tensor(zeros: [img.channels, img.height, img.width])
                img.writeCHW(into: t.ptr)
                return TensorObject.wrap(t)
            } catch let e as EngineError { throw RuntimeError.engine(e) }
        }
    }

    // MARK: helpers

    /// Writes `data` atomically; the error names the builtin, the path and the reason.
    static func writeFile(_ data: Data, _ path: String, _ callee: String) throws {
        guard !path.isEmpty else { throw RuntimeError.arguments("\(callee): argument 'path' is empty") }
        do { try AtomicFile.write(data, to: path) } catch let e as EngineError {
            throw RuntimeError.message("\(callee): \(e.description)")
        }
    }

    /// The bytes of a file; the error names the builtin, the path and the reason.
    static func readFile(_ path: String, _ callee: String) throws -> [UInt8] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw RuntimeError.message("\(callee): cannot read \(path): no such file")
        }
        guard !isDir.boolValue else { throw RuntimeError.message("\(callee): cannot read \(path): it is a folder") }
        guard let d = FileManager.default.contents(atPath: path) else {
            throw RuntimeError.message("\(callee): cannot read \(path): \(String(cString: strerror(errno)))")
        }
        return [UInt8](d)
    }

    /// Bytes as UTF-8 text; the error names the file and the first bad byte.
    static func utf8Text(_ bytes: [UInt8], _ path: String) throws -> String {
        if let bad = firstInvalidUTF8(bytes) {
            throw RuntimeError.value("\(path): not valid UTF-8 (byte 0x\(String(bytes[bad], radix: 16)) at offset \(bad))")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// An 8-bit image from a C x H x W (or 1 x C x H x W) tensor with C = 1 or 3.
    static func pixelImage(_ t: Tensor, _ callee: String) throws -> PixelImage {
        var shape = t.shape
        if shape.count == 4, shape[0] == 1 { shape.removeFirst() }
        if shape.count == 2 { shape.insert(1, at: 0) }
        guard shape.count == 3, [1, 3].contains(shape[0]), shape[1] >= 1, shape[2] >= 1 else {
            throw RuntimeError.value("\(callee): the image must be C x H x W with C = 1 or 3 (or 1 x C x H x W), got shape \(t.shape)")
        }
        return PixelImage(chw: t.ptr, channels: shape[0], height: shape[1], width: shape[2])
    }
}
