// docs/builtins.md is generated from the registry: `adv --builtins-markdown > docs/builtins.md`.
// Builtins come from the table; object methods (t.sum, d.batches, r.with, m.summary, ...) from
// one sample value of each object type, asked for its members as `help(obj)` does.
import Lang

public enum BuiltinsMarkdown {
    /// The reference of every builtin (name, signature and doc, in registration order), then one
    /// section per object type with its fields and its methods' signatures and docs.
    public static func generate(_ table: BuiltinTable = Registry.standard()) -> String {
        var out = "# Builtins\n\n"
        out += "Generated from the builtin registry by `adv --builtins-markdown`; do not edit by hand.\n"
        out += "In the REPL, `help(name)` or `:help name` shows the same text.\n\n"
        let names = table.order
        out += names.map { "[`\($0)`](#\(anchor($0)))" }.joined(separator: " · ") + "\n"
        let types = objectTypes(table)
        if !types.isEmpty {
            out += "\nObject types: " + types.map { "[\($0.type)](#\(anchor($0.type + " object")))" }.joined(separator: " · ") + "\n"
        }
        for n in names {
            guard let b = table.byName[n] else { continue }
            out += "\n## \(n)\n\n```\n\(b.signature)\n```\n\n\(b.doc)\n"
        }
        if types.isEmpty { return out }
        out += "\n# Object types\n\n"
        out += "Values of these types have fields (`obj.name`) and methods (`obj.name(...)`); "
        out += "`help(obj)` lists them and `help(obj.method)` shows a method's text.\n"
        for t in types {
            out += "\n## \(t.type) (object)\n\n"
            out += t.fields.isEmpty ? "No fields" : "Fields: " + t.fields.map { "`\($0)`" }.joined(separator: ", ")
            out += t.methods.isEmpty ? "; no methods.\n" : ".\n"
            for m in t.methods {
                out += "\n### \(m.name)\n\n```\n\(m.signature)\n```\n\n\(m.doc)\n"
            }
        }
        return out
    }

    /// Expressions that make one value of each object type, in the order the reference lists them.
    static let samples: [(type: String, code: String)] = {
        let data = "synthetic(n: 8, classes: 2, image: 8, channels: 1, test: 4).train"
        return [
            ("Tensor", "zeros(1)"),
            ("Model", "model(\"resnet18\", image: 16, channels: 1, classes: 2, width: 0.25)"),
            ("Dataset", data),
            ("Batches", data + ".batches(batch: 4)"),
            ("Pipeline", "pipeline(\(data), batch: 4, prefetch: 0)"),
            ("Attack", "pgd(eps: 4/255)"),
            ("Recipe", "recipe()"),
            ("RandAugment", "randaugment()"),
            ("Mixup", "mixup()"),
            ("Figure", "plot([1, 2])"),
            ("Grid", "grid(zeros(1, 1, 2, 2))"),
        ]
    }()

    /// One object type's members: field names and methods, in the order `memberNames` gives.
    struct ObjectType {
        var type: String
        var fields: [String]
        var methods: [Builtin]
    }

    /// The members of each sample object (a sample that cannot be made is left out; the test
    /// of this generator checks that none is).
    static func objectTypes(_ table: BuiltinTable) -> [ObjectType] {
        let interp = Interpreter(builtins: table, output: { _ in })
        var types: [ObjectType] = []
        for s in samples {
            guard (try? interp.run(SourceFile(name: "<builtins-markdown>", text: "__sample = " + s.code))) != nil,
                  case .object(let o)? = interp.globals.values["__sample"], o.typeName == s.type else { continue }
            var t = ObjectType(type: s.type, fields: [], methods: [])
            for name in o.memberNames {
                guard let v = try? o.member(name) else { continue }
                if case .builtin(let b) = v { t.methods.append(b) } else { t.fields.append(name) }
            }
            types.append(t)
        }
        return types
    }

    static func anchor(_ name: String) -> String {
        String(name.lowercased().map { $0 == " " ? "-" : $0 }.filter { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" })
    }
}
