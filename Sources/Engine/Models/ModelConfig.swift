// The configuration of a model of one of the families (`Models.families`, Factory.swift): the
// family's defaults (timm's registered models) and the user's options (`model(name, image:,
// channels:, ...)`), validated. What differs between families is declared by each family
// (ModelFamily.swift); this file asks the family, never its name.
import Foundation
import Tensor

/// Everything needed to build a model. Field names follow the `model()` options.
public struct ModelConfig: Equatable {
    /// Family member name ("convnext_tiny", "resnet50_gelu", ...).
    public var name: String
    /// The family; `arch.family` is what it declares (ModelFamily.swift).
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
    /// Every model name `model()` accepts, in display order (the families of `Models.families`,
    /// each member in the order its family declares).
    public static let familyNames: [String] = Models.families.flatMap { $0.members.map(\.name) }

    /// Every member's full-size configuration by name.
    private static let membersByName: [String: ModelConfig] =
        Dictionary(Models.families.flatMap { $0.members.map { ($0.name, $0) } }, uniquingKeysWith: { a, _ in a })

    /// The full-size default configuration of a family member (timm's registered model), or nil.
    public static func family(_ name: String) -> ModelConfig? { membersByName[name] }

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
        let study = Models.families.map { $0.studyMember }
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
    /// Side of the token grid (feature map) after the stem, as the family computes it.
    public var stemGridSide: Int { arch.family.stemGridSide(self) }

    /// Checks that the options fit together; errors name the option and why.
    public func validate() throws {
        func bad(_ m: String) -> EngineError { EngineError.invalidArgument("model \(name): \(m)") }
        let family = arch.family
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
        if family.stages == .single {
            guard depths.count == 1, dims.count == 1 else {
                throw bad("\(family.name) takes one depth and one dim (depths: [\(depths.count) values], dims: [\(dims.count) values])")
            }
        } else {
            let usual = family.members.first?.depths.count ?? 4
            guard (1...6).contains(depths.count), depths.count == dims.count else {
                throw bad("depths (\(depths)) and dims (\(dims)) need one entry per stage (1 to 6 stages, usually \(usual))")
            }
        }
        try validateOptions(of: family, bad)
        guard mlpRatio >= 1 else { throw bad("mlp ratio must be >= 1") }
        // The feature map must not vanish (a family's minimumStemGrid says what its stages need).
        guard stemGridSide >= 1 else { throw bad("image \(image) is too small for patch \(patch)") }
        if stemGridSide < family.minimumStemGrid(self) {
            throw bad("image \(image) is too small for \(dims.count) stages (the map after the stem is \(stemGridSide) pixels)")
        }
    }

    /// The checks of the family-specific options the family takes (`ModelFamily.options`).
    private func validateOptions(of family: any ModelFamily.Type, _ bad: (String) -> EngineError) throws {
        let takes = Set(family.options)
        if takes.contains(.heads) {
            guard heads.count == dims.count else { throw bad("heads (\(heads)) need one entry per stage of dims (\(dims))") }
            for (d, h) in zip(dims, heads) where h < 1 || d % h != 0 {
                throw bad("dim \(d) is not divisible by \(h) heads (heads: \(heads), dims: \(dims))")
            }
        }
        if takes.contains(.patch) {
            guard (1...image).contains(patch) else { throw bad("patch must be 1...\(image), got \(patch)") }
        }
        if takes.contains(.window) {
            guard window >= 1 else { throw bad("window must be >= 1, got \(window)") }
        }
        if takes.contains(.stem) {
            guard stem >= 1 else { throw bad("stem must be >= 1, got \(stem)") }
        }
        if takes.contains(.act) {
            guard ["gelu", "relu"].contains(act) else { throw bad("act must be \"gelu\" or \"relu\", got \"\(act)\"") }
        }
    }

    /// The configuration as JSON (stored in saved weights' metadata), in `model()` option names:
    /// the common options and the family-specific ones its family takes.
    public var json: String {
        var o: [String: Any] = ["model": name, "image": image, "channels": channels, "classes": classes,
                                "depths": depths, "dims": dims, "drop_path": dropPath,
                                "mean": mean.map { Double($0) }, "std": std.map { Double($0) }]
        for option in arch.family.options {
            switch option {
            case .patch: o["patch"] = patch
            case .window: o["window"] = window
            case .heads: o["heads"] = heads
            case .act: o["act"] = act
            case .stem: o["stem"] = stem
            }
        }
        guard let d = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]),
              let s = String(data: d, encoding: .utf8) else { return "{}" }
        return s
    }
}
