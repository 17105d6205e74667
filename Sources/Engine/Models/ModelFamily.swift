// What an architecture family declares, in its own file beside its network
// (Models/ConvNeXt/ConvNeXt+Family.swift, ...): its members and their full-size defaults, the
// options it takes, how its stages are laid out, its parameter-budget rule, its token-grid parity
// rule and its facts (stem grid, fixed input size, restart batch limit, timm names). `Models.families`
// in Factory.swift is the table of families; nothing else in Models/ asks which family a
// configuration belongs to. docs/architecture.md, "Adding a model", lists the steps.
import Foundation
import Tensor

/// One architecture family, declared by an enum without cases (`enum ConvNeXtFamily: ModelFamily`).
protocol ModelFamily {
    /// The family's name, the prefix of its members' names ("convnext").
    static var name: String { get }
    /// Every member at full size (timm's registered models), in the order `models()` lists them.
    static var members: [ModelConfig] { get }
    /// The member a bare or misspelt family name suggests ("convnext" -> "convnext_tiny"): the study's.
    static var studyMember: String { get }
    /// The family-specific options of `model()` this family takes (`ModelOption`); the others are
    /// errors naming the families that take them (except `heads:`, which the others ignore).
    static var options: [ModelOption] { get }
    /// How the stages are laid out: what `depths:`, `dims:` and `heads:` mean for this family.
    static var stages: StageLayout { get }
    /// True when the network needs exactly the configured image size (position embeddings,
    /// precomputed windows); the others accept any size.
    static var fixedInputSize: Bool { get }
    /// The largest batch of images attacks in `RestartMode.auto` run at once (`Model.restartBatchLimit`).
    static var restartBatchLimit: Int { get }
    /// Side of the token grid (feature map) after the stem.
    static func stemGridSide(_ c: ModelConfig) -> Int
    /// The smallest stem grid the stages need (default 1).
    static func minimumStemGrid(_ c: ModelConfig) -> Int
    /// The budget rule: `base` with its widths multiplied by `w` and rounded to multiples of
    /// `quantum` (`width:` and the `params:` search in Factory.swift call it); `keepHeads` keeps the
    /// user's heads.
    static func scaled(_ base: ModelConfig, w: Double, quantum: Int, keepHeads: Bool) -> ModelConfig
    /// Token-grid parity (`parity: true`, GridParity.swift): the configuration with the study's
    /// grid at its image size, or nil when the family's stem already gives it (default nil).
    static func gridParity(_ c: ModelConfig) -> ModelConfig?
    /// timm's registered name of a member ("swin_tiny" -> "swin_tiny_patch4_window7_224"; default the
    /// member's own name); `model()` accepts it (Runtime/Builtins/Model+TimmNames.swift).
    static func timmName(_ member: String) -> String
    /// The network for a validated configuration (dry: a parameter store that only counts).
    static func build(_ c: ModelConfig, dry: Bool, rng: RNG) -> Network
}

extension ModelFamily {
    static func minimumStemGrid(_ c: ModelConfig) -> Int { 1 }
    static func gridParity(_ c: ModelConfig) -> ModelConfig? { nil }
    static func timmName(_ member: String) -> String { member }

    /// A member's configuration with the common defaults (224x224x3, 1000 classes, ImageNet normalisation).
    static func config(_ name: String, depths: [Int], dims: [Int]) -> ModelConfig {
        ModelConfig(name: name, arch: Architecture(Self.self), depths: depths, dims: dims)
    }
}

/// A family as a configuration names it: compared by name, carrying what the family declares.
public struct Architecture: Equatable, CustomStringConvertible {
    /// The family's name ("convnext").
    public let rawValue: String
    /// What the family declares.
    let family: any ModelFamily.Type

    init(_ family: any ModelFamily.Type) {
        rawValue = family.name
        self.family = family
    }

    public static func == (a: Architecture, b: Architecture) -> Bool { a.rawValue == b.rawValue }
    public var description: String { rawValue }
}

/// The options of `model()` that only some families take. Validation checks each one for the
/// families that declare it; the configuration's JSON stores the ones its family declares.
enum ModelOption: String {
    case patch, window, heads, act, stem
}

/// How a family's stages are laid out.
enum StageLayout {
    /// One stage: `depths:` and `dims:` take one value each (DeiT).
    case single
    /// Stages; when `depths:` changes their number, the widths keep doubling from the first.
    case hierarchical
    /// As `hierarchical`, and one `dims:` or `heads:` value doubles per stage, like timm's Swin
    /// `embed_dim` and `num_heads` (the heads also follow a changed number of stages).
    case doubling
}

/// The width-scaling rules families build their budget rule from.
enum WidthRule {
    /// `x` rounded to a multiple of `m`, at least `m`.
    static func round(_ x: Double, _ m: Int) -> Int { Swift.max(m, Int((x / Double(m)).rounded()) * m) }

    /// Each width times `w`, rounded to a multiple of `q`.
    static func scale(_ dims: [Int], _ w: Double, _ q: Int) -> [Int] { dims.map { round(Double($0) * w, q) } }

    /// Attention families (Swin, DeiT): with kept heads, widths round to multiples of lcm(q, heads);
    /// otherwise the heads follow the width at the family's head size (the divisor of the width
    /// nearest to width / head size).
    static func scaleWithHeads(_ base: ModelConfig, w: Double, quantum q: Int, keepHeads: Bool) -> ModelConfig {
        var c = base
        var dims: [Int] = [], heads: [Int] = []
        for (d, h) in zip(base.dims, base.heads) {
            if keepHeads {
                dims.append(round(Double(d) * w, lcm(q, h)))
                heads.append(h)
            } else {
                let nd = round(Double(d) * w, q)
                let headDim = Double(d) / Double(h)
                dims.append(nd)
                heads.append(nearestDivisor(nd, to: Swift.max(1, Double(nd) / headDim)))
            }
        }
        c.dims = dims
        c.heads = heads
        return c
    }

    static func lcm(_ a: Int, _ b: Int) -> Int {
        func gcd(_ x: Int, _ y: Int) -> Int { y == 0 ? x : gcd(y, x % y) }
        return a / gcd(a, b) * b
    }

    /// The divisor of n closest to `target` (ties: the smaller one).
    static func nearestDivisor(_ n: Int, to target: Double) -> Int {
        var best = 1
        for d in 1...Swift.max(n, 1) where n % d == 0 && abs(Double(d) - target) < abs(Double(best) - target) { best = d }
        return best
    }
}
