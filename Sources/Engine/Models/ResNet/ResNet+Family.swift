// The ResNet family (ResNet.swift builds the network): members as timm registers them, options,
// budget rule and facts (ModelFamily.swift).
import Tensor

enum ResNetFamily: ModelFamily {
    static let name = "resnet"
    static let studyMember = "resnet50_gelu"
    /// act: "gelu" (default, the study's resnet50_gelu) or "relu"; stem: the stem width (64).
    static let options: [ModelOption] = [.act, .stem]
    static let stages = StageLayout.hierarchical
    static let fixedInputSize = false
    /// Its maps end at a few positions, as ConvNeXt's (ConvNeXt+Family.swift).
    static let restartBatchLimit = 4 * RestartBatchLimit.standard

    /// dims are the stage planes (a bottleneck block's output is 4x wider).
    static let members = [
        member("resnet18", [2, 2, 2, 2], bottleneck: false),
        member("resnet26", [2, 2, 2, 2], bottleneck: true),
        member("resnet34", [3, 4, 6, 3], bottleneck: false),
        member("resnet50", [3, 4, 6, 3], bottleneck: true),
        member("resnet101", [3, 4, 23, 3], bottleneck: true),
        member("resnet50_gelu", [3, 4, 6, 3], bottleneck: true),
    ]

    static func member(_ name: String, _ depths: [Int], bottleneck: Bool) -> ModelConfig {
        var c = config(name, depths: depths, dims: [64, 128, 256, 512])
        c.bottleneck = bottleneck
        return c
    }

    /// The 7x7 stride-2 convolution (padding 3), then the 3x3 stride-2 max pool (padding 1).
    static func stemGridSide(_ c: ModelConfig) -> Int { ((c.image + 6 - 7) / 2 + 1 + 2 - 3) / 2 + 1 }

    /// The stage planes and the stem width times w.
    static func scaled(_ base: ModelConfig, w: Double, quantum q: Int, keepHeads: Bool) -> ModelConfig {
        var c = base
        c.dims = WidthRule.scale(base.dims, w, q)
        c.stem = WidthRule.round(Double(base.stem) * w, q)
        return c
    }

    static func build(_ c: ModelConfig, dry: Bool, rng: RNG) -> Network { ResNet(c, dry: dry, rng: rng) }
}
