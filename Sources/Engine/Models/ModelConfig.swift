// The configuration of one of the five architectures: the family defaults (timm's registered
// models) and the user's options (`model(name, image:, channels:, ...)`), validated.
import Foundation
import Tensor

/// The five architecture families.
public enum Architecture: String, CaseIterable {
    case convnext, swin, poolformer, deit, resnet
}

/// Everything needed to build a model. Field names follow the `model()` options.
public struct ModelConfig: Equatable {
    /// Family member name ("convnext_tiny", "resnet50_gelu", ...).
    public var name: String
    public var arch: Architecture
    /// Square input side and channels; classes of the head.
    public var image = 224, channels = 3, classes = 1000
    /// Patch size (ConvNeXt stem, Swin and DeiT patch embedding); unused by ResNet/PoolFormer.
    public var patch = 4
    /// Swin attention window (shrinks to the feature map when the map is smaller).
    public var window = 7
    /// Blocks per stage (DeiT: one entry, the depth).
    public var depths: [Int]
    /// Width per stage (DeiT: one entry, the embedding dim; ResNet: the stage planes).
    public var dims: [Int]
    /// Attention heads per stage (Swin) or one entry (DeiT); empty for the others.
    public var heads: [Int] = []
    /// Maximum stochastic-depth rate (linear over blocks).
    public var dropPath = 0.0
    /// Input normalisation applied inside the model (one value per channel).
    public var mean: [Float] = [0.485, 0.456, 0.406]
    public var std: [Float] = [0.229, 0.224, 0.225]
    /// MLP hidden width ratio (all but ResNet).
    public var mlpRatio = 4
    /// ConvNeXt: 1x1-conv MLP with LayerNorm2d (atto..nano) instead of Linear on NHWC.
    public var convMlp = false
    /// Layer-scale initial value (ConvNeXt, PoolFormer).
    public var layerScale: Float = 1e-6
    /// ResNet: bottleneck (expansion 4) or basic blocks, activation, stem width.
    public var bottleneck = true
    public var act = "gelu"
    public var stem = 64

    public init(name: String, arch: Architecture, depths: [Int], dims: [Int]) {
        self.name = name
        self.arch = arch
        self.depths = depths
        self.dims = dims
    }

    /// ImageNet mean/std for 3 channels, 0.5/0.5 otherwise.
    public static func defaultNormalisation(channels: Int) -> (mean: [Float], std: [Float]) {
        channels == 3 ? ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
                      : ([Float](repeating: 0.5, count: channels), [Float](repeating: 0.5, count: channels))
    }
}

// MARK: - Families

extension ModelConfig {
    /// Every model name `model()` accepts, in display order.
    public static let familyNames: [String] = [
        "convnext_atto", "convnext_femto", "convnext_pico", "convnext_nano", "convnext_tiny",
        "convnext_small", "convnext_base",
        "swin_tiny", "swin_small", "swin_base",
        "poolformer_s12", "poolformer_s24", "poolformer_s36", "poolformer_m36",
        "deit_tiny", "deit_small", "deit_base",
        "resnet18", "resnet26", "resnet34", "resnet50", "resnet101", "resnet50_gelu",
    ]

    /// The full-size default configuration of a family member (timm's registered model), or nil.
    public static func family(_ name: String) -> ModelConfig? {
        func convnext(_ d: [Int], _ w: [Int], convMlp: Bool) -> ModelConfig {
            var c = ModelConfig(name: name, arch: .convnext, depths: d, dims: w)
            c.convMlp = convMlp
            c.patch = 4
            return c
        }
        func swin(_ d: [Int], _ embed: Int, _ h: [Int]) -> ModelConfig {
            var c = ModelConfig(name: name, arch: .swin, depths: d, dims: (0..<4).map { embed << $0 })
            c.heads = h
            c.patch = 4
            c.window = 7
            c.dropPath = 0.1  // timm's SwinTransformer default
            return c
        }
        func pool(_ d: [Int], _ w: [Int], _ ls: Float) -> ModelConfig {
            var c = ModelConfig(name: name, arch: .poolformer, depths: d, dims: w)
            c.layerScale = ls
            return c
        }
        func deit(_ dim: Int, _ h: Int) -> ModelConfig {
            var c = ModelConfig(name: name, arch: .deit, depths: [12], dims: [dim])
            c.heads = [h]
            c.patch = 16
            return c
        }
        func resnet(_ d: [Int], bottleneck: Bool) -> ModelConfig {
            var c = ModelConfig(name: name, arch: .resnet, depths: d, dims: [64, 128, 256, 512])
            c.bottleneck = bottleneck
            return c
        }
        switch name {
        case "convnext_atto": return convnext([2, 2, 6, 2], [40, 80, 160, 320], convMlp: true)
        case "convnext_femto": return convnext([2, 2, 6, 2], [48, 96, 192, 384], convMlp: true)
        case "convnext_pico": return convnext([2, 2, 6, 2], [64, 128, 256, 512], convMlp: true)
        case "convnext_nano": return convnext([2, 2, 8, 2], [80, 160, 320, 640], convMlp: true)
        case "convnext_tiny": return convnext([3, 3, 9, 3], [96, 192, 384, 768], convMlp: false)
        case "convnext_small": return convnext([3, 3, 27, 3], [96, 192, 384, 768], convMlp: false)
        case "convnext_base": return convnext([3, 3, 27, 3], [128, 256, 512, 1024], convMlp: false)
        case "swin_tiny": return swin([2, 2, 6, 2], 96, [3, 6, 12, 24])
        case "swin_small": return swin([2, 2, 18, 2], 96, [3, 6, 12, 24])
        case "swin_base": return swin([2, 2, 18, 2], 128, [4, 8, 16, 32])
        case "poolformer_s12": return pool([2, 2, 6, 2], [64, 128, 320, 512], 1e-5)
        case "poolformer_s24": return pool([4, 4, 12, 4], [64, 128, 320, 512], 1e-5)
        case "poolformer_s36": return pool([6, 6, 18, 6], [64, 128, 320, 512], 1e-6)
        case "poolformer_m36": return pool([6, 6, 18, 6], [96, 192, 384, 768], 1e-6)
        case "deit_tiny": return deit(192, 3)
        case "deit_small": return deit(384, 6)
        case "deit_base": return deit(768, 12)
        case "resnet18": return resnet([2, 2, 2, 2], bottleneck: false)
        case "resnet26": return resnet([2, 2, 2, 2], bottleneck: true)
        case "resnet34": return resnet([3, 4, 6, 3], bottleneck: false)
        case "resnet50", "resnet50_gelu": return resnet([3, 4, 6, 3], bottleneck: true)
        case "resnet101": return resnet([3, 4, 23, 3], bottleneck: true)
        default: return nil
        }
    }

    /// Throws for an unknown name, suggesting the nearest known one.
    public static func named(_ name: String) throws -> ModelConfig {
        if let c = family(name) { return c }
        var msg = "unknown model '\(name)'"
        if let s = nearestName(name, in: familyNames) { msg += "; did you mean '\(s)'?" }
        msg += " (models: \(familyNames.joined(separator: ", ")))"
        throw EngineError.invalidArgument(msg)
    }

    /// Nearest candidate by edit distance (also matching a prefix such as "convnext" -> "convnext_tiny").
    static func nearestName(_ word: String, in candidates: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            if a.isEmpty { return b.count }
            if b.isEmpty { return a.count }
            var prev = Array(0...b.count), cur = prev
            for i in 1...a.count {
                cur[0] = i
                for j in 1...b.count {
                    cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                }
                swap(&prev, &cur)
            }
            return prev[b.count]
        }
        // a family prefix ("convnext", "swin") suggests the study's member first
        let study = ["convnext_tiny", "swin_tiny", "poolformer_s36", "deit_small", "resnet50_gelu"]
        let prefixed = word.count >= 3 ? candidates.filter { $0.hasPrefix(word.lowercased()) } : []
        if let p = prefixed.first(where: { study.contains($0) }) ?? prefixed.first { return p }
        let w = Array(word.lowercased())
        let scored = candidates.map { ($0, distance(w, Array($0))) }.sorted { $0.1 < $1.1 }
        if let best = scored.first, best.1 <= Swift.max(2, w.count / 2) { return best.0 }
        return nil
    }
}

// MARK: - Validation

extension ModelConfig {
    /// Feature-map side after the stem (ConvNeXt, Swin, DeiT: image / patch; ResNet, PoolFormer: /4).
    var tokensSide: Int {
        switch arch {
        case .convnext, .swin, .deit: return image / Swift.max(patch, 1)
        case .poolformer: return (image + 4 - 7) / 4 + 1
        case .resnet: return ((image + 6 - 7) / 2 + 1 + 2 - 3) / 2 + 1
        }
    }

    /// Checks that the options fit together; errors name the option and why.
    public func validate() throws {
        func bad(_ m: String) -> EngineError { EngineError.invalidArgument("model \(name): \(m)") }
        guard (1...100_000).contains(classes) else { throw bad("classes must be 1...100000, got \(classes)") }
        guard (1...64).contains(channels) else { throw bad("channels must be 1...64, got \(channels)") }
        guard (8...4096).contains(image) else { throw bad("image must be 8...4096 pixels, got \(image)") }
        guard mean.count == channels, std.count == channels else {
            throw bad("mean and std need one value per channel (\(channels)), got \(mean.count) and \(std.count)")
        }
        guard std.allSatisfy({ $0 > 0 && $0.isFinite }), mean.allSatisfy({ $0.isFinite }) else {
            throw bad("std must be positive and mean finite")
        }
        guard (0.0..<1.0).contains(dropPath) else { throw bad("drop_path must be in [0, 1), got \(dropPath)") }
        guard dims.allSatisfy({ $0 >= 1 && $0 <= 16384 }) else { throw bad("dims must be 1...16384, got \(dims)") }
        guard depths.allSatisfy({ $0 >= 1 && $0 <= 200 }) else { throw bad("depths must be 1...200, got \(depths)") }
        let stages = arch == .deit ? 1 : 4
        if arch == .deit {
            guard depths.count == 1, dims.count == 1 else {
                throw bad("deit takes one depth and one dim (depths: [\(depths.count) values], dims: [\(dims.count) values])")
            }
        } else {
            guard (1...6).contains(depths.count), depths.count == dims.count else {
                throw bad("depths (\(depths)) and dims (\(dims)) need one entry per stage (1 to 6 stages, usually \(stages))")
            }
        }
        switch arch {
        case .swin, .deit:
            guard heads.count == dims.count else { throw bad("heads (\(heads)) need one entry per stage of dims (\(dims))") }
            for (d, h) in zip(dims, heads) where h < 1 || d % h != 0 {
                throw bad("dim \(d) is not divisible by \(h) heads (heads: \(heads), dims: \(dims))")
            }
            guard (1...image).contains(patch) else { throw bad("patch must be 1...\(image), got \(patch)") }
            if arch == .swin { guard window >= 1 else { throw bad("window must be >= 1, got \(window)") } }
        case .convnext:
            guard (1...image).contains(patch) else { throw bad("patch must be 1...\(image), got \(patch)") }
        case .poolformer:
            break  // as in timm's MetaFormer, a stage as wide as the previous one does not downsample
        case .resnet:
            guard stem >= 1 else { throw bad("stem must be >= 1, got \(stem)") }
            guard ["gelu", "relu"].contains(act) else { throw bad("act must be \"gelu\" or \"relu\", got \"\(act)\"") }
        }
        guard mlpRatio >= 1 else { throw bad("mlp ratio must be >= 1") }
        // The feature map must not vanish (ConvNeXt's 2x2 stride-2 downsampling needs an even-or-larger map;
        // the others pad).
        guard tokensSide >= 1 else { throw bad("image \(image) is too small for patch \(patch)") }
        if arch == .convnext, tokensSide < 1 << (dims.count - 1) {
            throw bad("image \(image) is too small for \(dims.count) stages (the map after the stem is \(tokensSide) pixels)")
        }
    }

    /// The configuration as JSON (stored in saved weights' metadata), in `model()` option names.
    public var json: String {
        var o: [String: Any] = ["model": name, "image": image, "channels": channels, "classes": classes,
                                "depths": depths, "dims": dims, "drop_path": dropPath,
                                "mean": mean.map { Double($0) }, "std": std.map { Double($0) }]
        switch arch {
        case .swin: o["patch"] = patch; o["window"] = window; o["heads"] = heads
        case .deit: o["patch"] = patch; o["heads"] = heads
        case .convnext: o["patch"] = patch
        case .resnet: o["act"] = act; o["stem"] = stem
        case .poolformer: break
        }
        guard let d = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]),
              let s = String(data: d, encoding: .utf8) else { return "{}" }
        return s
    }
}
