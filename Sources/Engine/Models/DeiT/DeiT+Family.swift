// The DeiT family (DeiT.swift builds the network): members as timm registers them, options,
// budget rule, token-grid parity and facts (ModelFamily.swift).
import Tensor

enum DeiTFamily: ModelFamily {
    static let name = "deit"
    static let studyMember = "deit_small"
    /// patch: the patch embedding's size (16); heads: one value.
    static let options: [ModelOption] = [.patch, .heads]
    /// One stage of 12 blocks: depths: and dims: take one value each.
    static let stages = StageLayout.single
    /// The position embedding is sized for the built image.
    static let fixedInputSize = true
    /// DeiT keeps all its tokens in every product, so its per-image cost stops falling at about
    /// 32 images (AdvBench attacks, ADV_BENCH_SCALING=1).
    static let restartBatchLimit = RestartBatchLimit.standard

    static let members = [
        member("deit_tiny", dim: 192, heads: 3),
        member("deit_small", dim: 384, heads: 6),
        member("deit_base", dim: 768, heads: 12),
    ]

    static func member(_ name: String, dim: Int, heads: Int) -> ModelConfig {
        var c = config(name, depths: [12], dims: [dim])
        c.heads = [heads]
        c.patch = 16
        return c
    }

    static func timmName(_ member: String) -> String { member + "_patch16_224" }

    static func stemGridSide(_ c: ModelConfig) -> Int { c.image / Swift.max(c.patch, 1) }

    /// The width times w; heads kept or following the width at the family's head size.
    static func scaled(_ base: ModelConfig, w: Double, quantum: Int, keepHeads: Bool) -> ModelConfig {
        WidthRule.scaleWithHeads(base, w: w, quantum: quantum, keepHeads: keepHeads)
    }

    /// The patch whose grid is max(image/16, min(8, image/4)) tokens a side: 16 at 224, 4 at 32
    /// (8x8 tokens, as the hierarchical models' stage 1).
    static func gridParity(_ c: ModelConfig) -> ModelConfig? {
        var p = c
        let side = Swift.max(c.image / 16, Swift.min(8, c.image / 4))
        p.patch = Swift.max(1, Int((Double(c.image) / Double(Swift.max(side, 1))).rounded()))
        return p
    }

    static func build(_ c: ModelConfig, dry: Bool, rng: RNG) -> Network { DeiT(c, dry: dry, rng: rng) }
}
