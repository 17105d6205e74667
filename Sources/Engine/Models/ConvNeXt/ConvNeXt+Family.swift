// The ConvNeXt family (ConvNeXt.swift builds the network): members as timm registers them,
// options, budget rule and facts (ModelFamily.swift).
import Tensor

enum ConvNeXtFamily: ModelFamily {
    static let name = "convnext"
    static let studyMember = "convnext_tiny"
    /// patch: the stem's patch size (4).
    static let options: [ModelOption] = [.patch]
    static let stages = StageLayout.hierarchical
    static let fixedInputSize = false
    /// The maps end at a few positions (1x1 to 4x4 at 32x32), where small batches leave the
    /// products thin: the per-image cost keeps falling up to batches of about 128 images
    /// (AdvBench attacks, ADV_BENCH_SCALING=1).
    static let restartBatchLimit = 4 * RestartBatchLimit.standard

    /// atto..nano use the 1x1-conv MLP with LayerNorm2d (timm's conv_mlp=True).
    static let members = [
        member("convnext_atto", [2, 2, 6, 2], [40, 80, 160, 320], convMlp: true),
        member("convnext_femto", [2, 2, 6, 2], [48, 96, 192, 384], convMlp: true),
        member("convnext_pico", [2, 2, 6, 2], [64, 128, 256, 512], convMlp: true),
        member("convnext_nano", [2, 2, 8, 2], [80, 160, 320, 640], convMlp: true),
        member("convnext_tiny", [3, 3, 9, 3], [96, 192, 384, 768], convMlp: false),
        member("convnext_small", [3, 3, 27, 3], [96, 192, 384, 768], convMlp: false),
        member("convnext_base", [3, 3, 27, 3], [128, 256, 512, 1024], convMlp: false),
    ]

    static func member(_ name: String, _ depths: [Int], _ dims: [Int], convMlp: Bool) -> ModelConfig {
        var c = config(name, depths: depths, dims: dims)
        c.convMlp = convMlp
        c.patch = 4
        return c
    }

    static func stemGridSide(_ c: ModelConfig) -> Int { c.image / Swift.max(c.patch, 1) }

    /// The 2x2 stride-2 downsamplings do not pad: each stage after the first halves the map.
    static func minimumStemGrid(_ c: ModelConfig) -> Int { 1 << (c.dims.count - 1) }

    /// Every width times w.
    static func scaled(_ base: ModelConfig, w: Double, quantum: Int, keepHeads: Bool) -> ModelConfig {
        var c = base
        c.dims = WidthRule.scale(base.dims, w, quantum)
        return c
    }

    static func build(_ c: ModelConfig, dry: Bool, rng: RNG) -> Network { ConvNeXt(c, dry: dry, rng: rng) }
}
