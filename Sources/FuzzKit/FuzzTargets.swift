// The fuzz targets (docs/reliability.md, "Fuzzing"): each takes arbitrary bytes to one reader of
// untrusted input and must return normally, either accepting the input or refusing it with an
// error; a crash, a hang or an allocation past the limits is a bug. Seeds are small valid
// inputs built here, plus the files of the corpus folder (Tests/FuzzKitTests/Corpus/NAME/).
import CZlib
import Engine
import Foundation
import Lang
import Runtime
import Tensor

/// What a target did with one input.
public enum FuzzOutcome: String {
    case accepted, refused
}

/// One reader under test.
public struct FuzzTarget {
    public let name: String
    /// Small valid inputs to mutate (the corpus folder's files are added to them).
    public let seeds: () throws -> [[UInt8]]
    /// Tokens of the format that mutations insert.
    public let dictionary: [[UInt8]]
    /// Feeds one input to the reader.
    public let run: ([UInt8]) -> FuzzOutcome
}

public enum FuzzTargets {
    /// Every target, in the order the campaign runs them.
    public static var names: [String] { ["lang", "safetensors", "idx", "cifar", "npy", "png", "jpeg", "checkpoint"] }

    /// The target called `name`.
    /// - Parameter scratch: a folder for the temporary files of the file-based readers.
    public static func make(_ name: String, scratch: String) throws -> FuzzTarget {
        switch name {
        case "lang": return lang()
        case "safetensors": return safetensors()
        case "idx": return idx(scratch: scratch)
        case "cifar": return cifar(scratch: scratch)
        case "npy": return npy()
        case "png": return image("png")
        case "jpeg": return image("jpeg")
        case "checkpoint": return try checkpoint(scratch: scratch)
        default: throw EngineError.invalidArgument("no fuzz target '\(name)' (targets: \(names.joined(separator: ", ")))")
        }
    }

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    static func outcome(_ body: () throws -> Void) -> FuzzOutcome {
        do { try body(); return .accepted } catch { return .refused }
    }

    /// Writes `bytes` to `path` (the file-based readers read it back).
    static func put(_ bytes: [UInt8], _ path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { return }
        _ = Console.writeAll(fd, bytes)
        close(fd)
    }

    // MARK: - Language: lexer, parser, interpreter (core builtins, tight limits), diagnostics

    static let programs = [
        "x = 3\ny = 0.5\nprint(x, y, x * y, x / 4, 2 ** 10, 7 % 3, 4/255)",
        "fn fib(n) {\n  if n < 2 { return n }\n  return fib(n - 1) + fib(n - 2)\n}\nprint(fib(10))",
        "fn make(start = 0) {\n  state = {n: start}\n  return fn(step = 1) { state.n += step; return state.n }\n}\nc = make(1)\nc()\nprint(c(2))",
        "total = 0\nfor i in range(1, 20) {\n  if i % 2 == 0 { continue }\n  if i > 11 { break }\n  total += i\n}\nprint(total)",
        "r = {model: \"x\", clean: 67.38}\nr.drop = round((r.clean - 1) / r.clean * 100, digits: 2)\nprint(\"{r.model}: {r}\", keys(r))",
        "xs = [1, \"two\", true, nil, [3, 4]]\nprint(xs[1:3], xs[-1][0], len(xs), 3 in xs)\nxs[0] = xs\nappend(xs, xs)",
        "print(sort([3, 0/0, 1], reverse: true), join([\"a\", 1], sep: \", \"), replace(\"aaa\", \"a\", \"bb\"))",
        "s = \"\"\nfor c in \"hello\" { s = s + upper(c) }\nprint(s, split(\"a b\"), format(3.14159, digits: 3))",
        "x = [1]\nwhile true { x = x + x }",
        "print(\"{1 + {a: 2}.a} {[1, [2, [3]]]} \\{x\\}\")",
        "f(1, 2\ny = 3\n",
    ]

    static let langTokens = [
        "x", "f", "print", "len", "range", "sort", "join", "replace", "round", "fn", "return", "if", "else",
        "for", "in", "while", "break", "continue", "true", "false", "nil", "and", "or", "not", "use", "0",
        "1e308", "-1", "0/0", "\"s\"", "\"{x}\"", "\"{", "\"", "+", "-", "*", "/", "**", "@", "==", "<=", "=",
        "+=", "(", ")", "[", "]", "{", "}", ",", ":", ".", ";", "\n", "\t", "#c\n", "\\\n", "é", "\u{7}",
        "\u{FEFF}", "a:", "xs[0]", "r.a", "digits:", "reverse: true",
    ].map(bytes)

    static func lang() -> FuzzTarget {
        let table = Registry.core()
        var limits = Limits()
        limits.steps = 2_000
        limits.seconds = 0.2
        limits.collectionSize = 10_000
        limits.callDepth = 150
        var sessions = 0
        var interp = Interpreter(builtins: table, output: { _ in })
        return FuzzTarget(name: "lang", seeds: { programs.map(bytes) }, dictionary: langTokens) { input in
            sessions += 1
            if sessions % 64 == 0 { interp = Interpreter(builtins: table, output: { _ in }) }
            interp.limits = limits
            interp.searchPaths = []
            do {
                let source = try SourceLoader.decode(input, name: "fuzz.adv")
                try interp.run(source)
                return .accepted
            } catch let d as Diagnostics {
                _ = d.description
            } catch let d as Diagnostic {
                _ = d.render()
            } catch let e as ScriptError {
                _ = e.render()
            } catch {
                _ = "\(error)"
            }
            return .refused
        }
    }

    // MARK: - Safetensors

    static func safetensors() -> FuzzTarget {
        FuzzTarget(name: "safetensors", seeds: {
            let a = try Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
            let b = try Tensor(shape: [4], data: [0.5, -1, 2, 8])
            return [
                try Safetensors.serialize([("a", a, .f32), ("b", b, .f16)], metadata: ["format": "pt"]),
                try Safetensors.serialize([("w", a, .bf16), ("i", b, .i64), ("s", Tensor(scalar: 3), .f32)], metadata: [:]),
            ].map { [UInt8]($0) }
        }, dictionary: ["\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"F32\"", "\"BF16\"",
                        "\"I64\"", "\"BOOL\"", "[", "]", "{", "}", ",", ":", "1e308", "-1", "18446744073709551615", "null"].map(bytes)) { input in
            outcome { _ = try Safetensors.parse(Data(input), name: "fuzz.safetensors") }
        }
    }

    // MARK: - IDX (through the file reader, plain and gzipped)

    static func idx(scratch: String) -> FuzzTarget {
        let path = scratch + "/fuzz.idx"
        return FuzzTarget(name: "idx", seeds: {
            [[0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2] + (0..<8).map { UInt8($0 * 30) },
             [0, 0, 8, 1, 0, 0, 0, 4, 1, 2, 3, 4],
             // the same 1-d array gzipped (zlib reads plain files unchanged)
             try gzip([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9])]
        }, dictionary: [[0, 0, 8, 1], [0, 0, 8, 4], [0x1F, 0x8B, 8, 0], [0xFF, 0xFF, 0xFF, 0xFF], [0, 0, 0xEA, 0x60]]) { input in
            put(input, path)
            return outcome { _ = try IDXArray.read(path) }
        }
    }

    /// `bytes` gzip-compressed (through zlib's file writer).
    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let path = NSTemporaryDirectory() + "/adv-fuzz-seed-\(getpid()).gz"
        defer { unlink(path) }
        guard let gz = gzopen(path, "wb") else { throw EngineError.io("cannot write \(path)") }
        _ = bytes.withUnsafeBytes { gzwrite(gz, $0.baseAddress, UInt32($0.count)) }
        gzclose(gz)
        return try FileContents.read(path)
    }

    // MARK: - CIFAR binary records

    static func cifar(scratch: String) -> FuzzTarget {
        let path = scratch + "/fuzz_batch.bin"
        return FuzzTarget(name: "cifar", seeds: {
            let one = [UInt8(3)] + (0..<3072).map { UInt8(truncatingIfNeeded: $0 * 7) }
            return [one, one + one, [UInt8(99)] + Array(one.dropFirst())]
        }, dictionary: [[0], [9], [10], [255]]) { input in
            put(input, path)
            // CIFAR-10 and CIFAR-100 records; accepted when either layout reads.
            let ten = outcome { _ = try Datasets.readCIFAR(path, labelBytes: 1, labelIndex: 0, classes: 10) }
            let hundred = outcome { _ = try Datasets.readCIFAR(path, labelBytes: 2, labelIndex: 1, classes: 100) }
            return ten == .accepted || hundred == .accepted ? .accepted : .refused
        }
    }

    // MARK: - NPY

    static func npyFile(_ descr: String, _ shape: String, _ data: [UInt8]) -> [UInt8] {
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        let n = header.utf8.count
        return [0x93] + bytes("NUMPY") + [1, 0, UInt8(n & 0xFF), UInt8(n >> 8)] + bytes(header) + data
    }

    static func npy() -> FuzzTarget {
        FuzzTarget(name: "npy", seeds: {
            [npyFile("|u1", "(2, 2, 2)", [1, 2, 3, 4, 5, 6, 7, 8]),
             npyFile("<f4", "(2,)", [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]),
             npyFile("<i8", "(1,)", [5, 0, 0, 0, 0, 0, 0, 0])]
        }, dictionary: ["'descr'", "'shape'", "'fortran_order'", "True", "'<f8'", "'>i4'", "'|b1'", "(", ")", "()",
                        "(0,)", "(4294967296, 4294967296)", "-1"].map(bytes)) { input in
            outcome { _ = try NPYArray.parse(input, source: "fuzz.npy") }
        }
    }

    // MARK: - PNG and JPEG

    static func image(_ kind: String) -> FuzzTarget {
        FuzzTarget(name: kind, seeds: {
            let rgb = PixelImage(width: 5, height: 3, channels: 3, pixels: (0..<45).map { UInt8($0 * 5) })
            let gray = PixelImage(width: 4, height: 4, channels: 1, pixels: (0..<16).map { UInt8($0 * 16) })
            if kind == "png" { return [try ImageFile.encodePNG(rgb), try ImageFile.encodePNG(gray)] }
            return [try ImageFile.encodeJPEG(rgb), try ImageFile.encodeJPEG(gray, quality: 50)]
        }, dictionary: kind == "png"
            ? ["IHDR", "IDAT", "IEND", "PLTE", "tRNS", "gAMA", "iCCP", "\u{0}\u{0}\u{0}\u{0}"].map(bytes) + [[0xFF, 0xFF, 0xFF, 0xFF], [0, 0x0F, 0x42, 0x40]]
            : [[0xFF, 0xD8], [0xFF, 0xC0], [0xFF, 0xC2], [0xFF, 0xC4], [0xFF, 0xDA], [0xFF, 0xDB], [0xFF, 0xDD], [0xFF, 0xD9], [0xFF, 0xFF]]) { input in
            outcome {
                _ = try ImageFile.decode(input, channels: 3, source: "fuzz.\(kind)")
                _ = try ImageFile.decode(input, channels: 0, source: "fuzz.\(kind)")
            }
        }
    }

    // MARK: - Training checkpoints

    static func checkpoint(scratch: String) throws -> FuzzTarget {
        var o = ModelOptions()
        o.image = 8; o.channels = 1; o.classes = 2; o.patch = 4; o.dims = [8]; o.depths = [1]; o.heads = [2]
        let model = try Models.make("deit_tiny", o, rng: RNG(seed: 0))
        let optimizer = try AdamW(groups: ParameterGroup.split(model.parameters(), weightDecay: 0.05))
        let path = scratch + "/fuzz.ckpt"
        return FuzzTarget(name: "checkpoint", seeds: {
            var p = TrainingPosition()
            p.epochs = 2; p.seed = 1; p.attackRNG = [1, 2, 3, 4]; p.globalRNG = [5, 6, 7, 8]
            try Checkpoint.save(to: path, model: model, optimizer: optimizer, ema: nil, position: p, recipe: "fuzz")
            return [try FileContents.read(path)]
        }, dictionary: ["\"format\"", "\"epoch\"", "\"seed\"", "\"attack_rng\"", "\"global_rng\"", "\"loss_scale\"",
                        "\"optimizer_steps\"", "\"-1\"", "\"9999999999999999999999\"", "\"nan\"", "\"inf\"", "\"F32\""].map(bytes)) { input in
            put(input, path)
            return outcome { _ = try Checkpoint.load(from: path, model: model, optimizer: optimizer, ema: nil) }
        }
    }
}
