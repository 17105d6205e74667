// The Swin family (Swin.swift builds the network): members as timm registers them, options,
// budget rule, token-grid parity and facts (ModelFamily.swift).
import Tensor

enum SwinFamily: ModelFamily {
    static let name = "swin"
    static let studyMember = "swin_tiny"
    /// patch: the patch embedding's size (4); window: the attention window (7); heads per stage.
    static let options: [ModelOption] = [.patch, .window, .heads]
    static let stages = StageLayout.doubling
    /// The windows and their shift masks are computed for the built size.
    static let fixedInputSize = true
    /// The last stages merge the tokens to 2x2 at 32x32, so the products stay thin at small
    /// batches: 27.9 ms/image at a batch of 32, 24.9 at 128 (AdvBench attacks, ADV_BENCH_SCALING=1).
    static let restartBatchLimit = 4 * RestartBatchLimit.standard

    static let members = [
        member("swin_tiny", [2, 2, 6, 2], 96, [3, 6, 12, 24]),
        member("swin_small", [2, 2, 18, 2], 96, [3, 6, 12, 24]),
        member("swin_base", [2, 2, 18, 2], 128, [4, 8, 16, 32]),
    ]

    /// Widths double per stage from the embedding width; drop path 0.1 is timm's SwinTransformer default.
    static func member(_ name: String, _ depths: [Int], _ embed: Int, _ heads: [Int]) -> ModelConfig {
        var c = config(name, depths: depths, dims: (0..<4).map { embed << $0 })
        c.heads = heads
        c.patch = 4
        c.window = 7
        c.dropPath = 0.1
        return c
    }

    static func timmName(_ member: String) -> String { member + "_patch4_window7_224" }

    static func stemGridSide(_ c: ModelConfig) -> Int { c.image / Swift.max(c.patch, 1) }

    /// Widths times w; heads kept or following the width at the family's head size.
    static func scaled(_ base: ModelConfig, w: Double, quantum: Int, keepHeads: Bool) -> ModelConfig {
        WidthRule.scaleWithHeads(base, w: w, quantum: quantum, keepHeads: keepHeads)
    }

    /// The largest window in 2...7 dividing the stage-1 map into at least 2x2 windows (7 at 224:
    /// 8x8 windows; 4 at 32: 2x2 windows, so shifted windows still happen).
    static func gridParity(_ c: ModelConfig) -> ModelConfig? {
        var p = c
        let s = c.image / Swift.max(c.patch, 1)
        p.window = (2...7).reversed().first { s % $0 == 0 && s / $0 >= 2 } ?? Swift.max(1, Swift.min(s, 7))
        return p
    }

    static func build(_ c: ModelConfig, dry: Bool, rng: RNG) -> Network { Swin(c, dry: dry, rng: rng) }
}
