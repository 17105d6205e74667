// PoolFormer v1 (Yu et al. 2022) as timm 1.0.x builds it (timm/models/metaformer.py, poolformer_*).
//
// stem.conv 7x7 stride 4 pad 2
// stages.i: downsample (when the width changes: downsample.conv 3x3 stride 2 pad 1), blocks (NCHW):
//   x + layer_scale1 * drop_path(pool(norm1 x) - norm1 x)
//   x + layer_scale2 * drop_path(mlp.fc2(GELU(mlp.fc1(norm2 x))))      (1x1 convs)
//   norm = GroupNorm(1 group, eps 1e-5); pool = AvgPool2d(3, 1, 1, count_include_pad=False)
// head: global average pool -> head.norm LayerNorm2d (eps 1e-6) -> head.fc

import Tensor

final class PoolFormerBlock {
    let norm1: GroupNorm1, norm2: GroupNorm1
    let scale1: Tensor, scale2: Tensor
    let fc1: Linear, fc2: Linear
    let dropRate: Double

    init(_ s: Scope, dim: Int, mlpRatio: Int, layerScale: Float, dropPath: Double) {
        norm1 = GroupNorm1(s.sub("norm1"), dim)
        scale1 = s.param("layer_scale1.scale", [dim], .constant(layerScale))
        norm2 = GroupNorm1(s.sub("norm2"), dim)
        fc1 = Linear(s.sub("mlp.fc1"), dim, dim * mlpRatio, conv1x1: true)
        fc2 = Linear(s.sub("mlp.fc2"), dim * mlpRatio, dim, conv1x1: true)
        scale2 = s.param("layer_scale2.scale", [dim], .constant(layerScale))
        dropRate = dropPath
    }

    // x: (N, C, H, W) -> (N, C, H, W)
    // Each residual branch ends in one fused op (Tensor/Ops/LayerScale.swift): the pooling mixer
    // with its subtraction, layer scale, drop path and residual add; the MLP's layer scale,
    // drop path and residual add.
    func callAsFunction(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        let n = x.shape[0]
        let n1 = try norm1(x, ctx)
        let h = try Tensor.poolMixer(x, normed: n1, scale: scale1, sampleScale: dropPathFactors(n, dropRate, ctx))
        let m = try fc2(fc1(norm2(h, ctx), ctx).gelu(), ctx)
        return try Tensor.scaledResidual(h, m, scale: scale2, sampleScale: dropPathFactors(n, dropRate, ctx))
    }
}

final class PoolFormer: Network {
    let stem: Conv2d
    var downsample: [Conv2d?] = []
    var blocks: [[PoolFormerBlock]] = []
    let headNorm: LayerNorm
    let fc: Linear

    init(_ config: ModelConfig, dry: Bool, rng: RNG) {
        let c = config
        let s = Scope(ParamStore(dry: dry, rng: rng))
        stem = Conv2d(s.sub("stem.conv"), c.channels, c.dims[0], kernel: 7, stride: 4, padding: 2)
        let rates = dropPathRates(c.dropPath, total: c.depths.reduce(0, +))
        var k = 0, prev = c.dims[0]
        var ds: [Conv2d?] = [], bl: [[PoolFormerBlock]] = []
        for (i, (depth, dim)) in zip(c.depths, c.dims).enumerated() {
            let st = s.sub("stages.\(i)")
            ds.append(prev == dim ? nil : Conv2d(st.sub("downsample.conv"), prev, dim, kernel: 3, stride: 2, padding: 1))
            var stage: [PoolFormerBlock] = []
            for j in 0..<depth {
                stage.append(PoolFormerBlock(st.sub("blocks.\(j)"), dim: dim, mlpRatio: c.mlpRatio,
                                             layerScale: c.layerScale, dropPath: rates[k]))
                k += 1
            }
            bl.append(stage)
            prev = dim
        }
        downsample = ds
        blocks = bl
        headNorm = LayerNorm(s.sub("head.norm"), prev, eps: 1e-6, channelsFirst: true)
        fc = Linear(s.sub("head.fc"), prev, c.classes)
        super.init(config, store: s.store)
    }

    // x: (N, C, H, W) -> (N, classes)
    override func body(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        var h = try stem(x, ctx)
        h = ctx.traced("stem", h, params: paramCount(prefix: "stem"))
        for (i, stage) in blocks.enumerated() {
            if let d = downsample[i] {
                h = try d(h, ctx)
                h = ctx.traced("stages.\(i).downsample", h, params: paramCount(prefix: "stages.\(i).downsample"))
            }
            for (j, b) in stage.enumerated() {
                h = try b(h, ctx)
                h = ctx.traced("stages.\(i).blocks.\(j)", h, params: paramCount(prefix: "stages.\(i).blocks.\(j)"))
            }
        }
        let n = h.shape[0], c = h.shape[1]
        h = try h.globalAvgPool().reshape([n, c, 1, 1])
        h = try headNorm(h, ctx).reshape([n, c])
        h = try fc(h, ctx)
        return ctx.traced("head", h, params: paramCount(prefix: "head"))
    }
}
