// The PoolFormer family (PoolFormer.swift builds the network): members as timm registers them,
// budget rule and facts (ModelFamily.swift). It takes none of the family-specific options.
import Tensor

enum PoolFormerFamily: ModelFamily {
    static let name = "poolformer"
    static let studyMember = "poolformer_s36"
    static let options: [ModelOption] = []
    /// As in timm's MetaFormer, a stage as wide as the previous one does not downsample.
    static let stages = StageLayout.hierarchical
    static let fixedInputSize = false
    /// Its maps end at a few positions, as ConvNeXt's (ConvNeXt+Family.swift).
    static let restartBatchLimit = 4 * RestartBatchLimit.standard

    static let members = [
        member("poolformer_s12", [2, 2, 6, 2], [64, 128, 320, 512], layerScale: 1e-5),
        member("poolformer_s24", [4, 4, 12, 4], [64, 128, 320, 512], layerScale: 1e-5),
        member("poolformer_s36", [6, 6, 18, 6], [64, 128, 320, 512], layerScale: 1e-6),
        member("poolformer_m36", [6, 6, 18, 6], [96, 192, 384, 768], layerScale: 1e-6),
    ]

    static func member(_ name: String, _ depths: [Int], _ dims: [Int], layerScale: Float) -> ModelConfig {
        var c = config(name, depths: depths, dims: dims)
        c.layerScale = layerScale
        return c
    }

    /// The 7x7 stride-4 stem with padding 2.
    static func stemGridSide(_ c: ModelConfig) -> Int { (c.image + 4 - 7) / 4 + 1 }

    /// Widths times w, kept strictly increasing so every stage downsamples.
    static func scaled(_ base: ModelConfig, w: Double, quantum q: Int, keepHeads: Bool) -> ModelConfig {
        var c = base
        c.dims = WidthRule.scale(base.dims, w, q)
        for i in 1..<c.dims.count where c.dims[i] <= c.dims[i - 1] { c.dims[i] = c.dims[i - 1] + q }
        return c
    }

    static func build(_ c: ModelConfig, dry: Bool, rng: RNG) -> Network { PoolFormer(c, dry: dry, rng: rng) }
}
