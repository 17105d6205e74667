// The names timm users already type, accepted by `model(...)`:
//   - full model names: "swin_tiny_patch4_window7_224", "deit_small_patch16_224" (the patch,
//     window and image size in the name become the defaults of those options);
//   - pretrained tags: "convnext_tiny.fb_in1k" (the tag is accepted and ignored, with a note on
//     stderr: weights are never downloaded; load_weights(m, path) reads a timm safetensors file);
//   - create_model's keywords: num_classes, in_chans, img_size, drop_path_rate (aliases of
//     classes, channels, image, drop_path) and pretrained: false.
import Engine
import Tensor
import Foundation

extension ModelBuiltins {
    /// timm's create_model keyword -> this builtin's option.
    static let timmKeywords = ["num_classes": "classes", "in_chans": "channels", "img_size": "image", "drop_path_rate": "drop_path"]

    /// Rewrites timm spellings in `a` to this builtin's options and returns the family name.
    /// - Parameter a: the model(...) arguments; aliases are renamed, name-implied options added.
    /// - Returns: the architecture name without timm's suffixes and tag.
    static func timmNormalise(_ a: inout Arguments, note: (String) -> Void) throws -> String {
        // keywords
        for (timm, ours) in timmKeywords where a.named.contains(where: { $0.name == timm }) {
            if a.named.contains(where: { $0.name == ours }) {
                throw RuntimeError.arguments("model: give either '\(ours)' or timm's '\(timm)', not both")
            }
            a.named = a.named.map { $0.name == timm ? (ours, $0.value) : $0 }
        }
        if let i = a.named.firstIndex(where: { $0.name == "pretrained" }) {
            if case .bool(true) = a.named[i].value {
                throw RuntimeError.arguments("model: pretrained weights are not downloaded; build the model and read a timm safetensors file with load_weights(m, path)")
            }
            guard case .bool(false) = a.named[i].value else {
                throw RuntimeError.type("model: 'pretrained' must be true or false, got \(a.named[i].value.typeName)")
            }
            a.named.remove(at: i)
        }
        var name = try a.string("name", at: 0)
        // pretrained tag
        if let dot = name.firstIndex(of: ".") {
            let tag = String(name[name.index(after: dot)...])
            name = String(name[..<dot])
            note("model: pretrained tag '.\(tag)' ignored (weights are not downloaded; the architecture is \(name); load_weights(m, path) reads timm weights)")
        }
        // full timm names: <family>_patch<P>[_window<W>]_<size>
        var parts = name.split(separator: "_").map(String.init)
        var implied: [(String, Int)] = []
        if parts.count >= 3, let size = Int(parts.last!), parts.contains(where: { $0.hasPrefix("patch") }) {
            parts.removeLast()
            implied.append(("image", size))
            while let last = parts.last, let v = Int(last.drop { !$0.isNumber }), last.hasPrefix("patch") || last.hasPrefix("window") {
                implied.append((last.hasPrefix("patch") ? "patch" : "window", v))
                parts.removeLast()
            }
            name = parts.joined(separator: "_")
        }
        for (k, v) in implied where !a.has(k) { a.named.append((k, .number(Double(v)))) }
        // the name itself, positional or named
        if a.named.contains(where: { $0.name == "name" }) {
            a.named = a.named.map { $0.name == "name" ? ("name", .string(name)) : $0 }
        } else if !a.positional.isEmpty {
            a.positional[0] = .string(name)
        }
        return name
    }
}
