// ConvNeXt (Liu et al. 2022) as timm 1.0.x builds it (timm/models/convnext.py).
//
// stem.0 conv patch x patch stride patch -> stem.1 LayerNorm2d (eps 1e-6)
// stages.i: downsample (i > 0: LayerNorm2d -> conv 2x2 stride 2), blocks:
//   conv_dw 7x7 depthwise pad 3 -> norm (eps 1e-6) -> mlp.fc1 (4C) -> GELU -> mlp.fc2 (C) -> * gamma
//   -> drop path -> + shortcut. conv_mlp (atto..nano): LayerNorm2d and 1x1 convs on NCHW;
//   otherwise permute to NHWC, LayerNorm and Linear.
// head: global average pool -> head.norm LayerNorm2d (eps 1e-6) -> head.fc

import Tensor

final class ConvNeXtBlock {
    let convDw: Conv2d
    let norm: LayerNorm
    let fc1: Linear, fc2: Linear
    let gamma: Tensor
    let convMlp: Bool
    let dropRate: Double

    /// Whether conv_mlp blocks run their branch in the packed layout (Tensor/Ops/ConvMlp.swift;
    /// the same values). Off only in tests comparing the two paths (`withPackedBranch`).
    nonisolated(unsafe) static var packedBranch = true

    /// Runs `body` with `packedBranch` set to `on`, restoring it afterwards.
    static func withPackedBranch<T>(_ on: Bool, _ body: () throws -> T) rethrows -> T {
        let saved = packedBranch
        packedBranch = on
        defer { packedBranch = saved }
        return try body()
    }

    init(_ s: Scope, dim: Int, mlpRatio: Int, convMlp: Bool, layerScale: Float, dropPath: Double) {
        convDw = Conv2d(s.sub("conv_dw"), dim, dim, kernel: 7, padding: 3, groups: dim)
        norm = LayerNorm(s.sub("norm"), dim, eps: 1e-6, channelsFirst: convMlp)
        fc1 = Linear(s.sub("mlp.fc1"), dim, dim * mlpRatio, conv1x1: convMlp)
        fc2 = Linear(s.sub("mlp.fc2"), dim * mlpRatio, dim, conv1x1: convMlp)
        gamma = s.param("gamma", [dim], .constant(layerScale))
        self.convMlp = convMlp
        dropRate = dropPath
    }

    // x: (N, C, H, W) -> (N, C, H, W)
    // gamma, drop path and the shortcut are one fused op (Tensor/Ops/LayerScale.swift), which also
    // reads the channels-last MLP output in place of its permute back to NCHW.
    func callAsFunction(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        var y = try convDw(x, ctx)
        if convMlp && ConvNeXtBlock.packedBranch && Precision.current == .fp32 {
            // Norm to residual in the 1x1 convolutions' packed layout, the same values as the
            // NCHW ops below (Tensor/Ops/ConvMlp.swift).
            let (n, h, w) = (y.shape[0], y.shape[2], y.shape[3])
            ctx.count(n * h * w * fc1.inFeatures * fc1.outFeatures)
            ctx.count(n * h * w * fc2.inFeatures * fc2.outFeatures)
            var p = try Tensor.layerNorm2dPacked(y, weight: norm.weight, bias: norm.bias, eps: norm.eps)
            p = try Tensor.pointwisePacked(p, weight: fc1.weight, bias: fc1.bias, images: n, height: h, width: w).gelu()
            p = try Tensor.pointwisePacked(p, weight: fc2.weight, bias: fc2.bias, images: n, height: h, width: w)
            return try Tensor.scaledResidual(x, packed: p, scale: gamma, sampleScale: dropPathFactors(n, dropRate, ctx))
        }
        if convMlp {
            y = try norm(y, ctx)
            y = try fc2(fc1(y, ctx).gelu(), ctx)
            return try Tensor.scaledResidual(x, y, scale: gamma, sampleScale: dropPathFactors(x.shape[0], dropRate, ctx))
        }
        // The norm writes channels last (N, H, W, C) itself: the values of norm(y.permute([0, 2, 3, 1]))
        // without the transposed copies (Tensor/Ops/ConvMlp.swift).
        y = try Tensor.layerNorm2dChannelsLast(y, weight: norm.weight, bias: norm.bias, eps: norm.eps)
        y = try fc2(fc1(y, ctx).gelu(), ctx)
        return try Tensor.scaledResidual(x, channelsLast: y, scale: gamma, sampleScale: dropPathFactors(x.shape[0], dropRate, ctx))
    }
}

final class ConvNeXt: Network {
    let stem: Conv2d
    let stemNorm: LayerNorm
    var downsample: [(norm: LayerNorm, conv: Conv2d)?] = []
    var blocks: [[ConvNeXtBlock]] = []
    let headNorm: LayerNorm
    let fc: Linear

    init(_ config: ModelConfig, dry: Bool, rng: RNG) {
        let c = config
        let s = Scope(ParamStore(dry: dry, rng: rng))
        stem = Conv2d(s.sub("stem.0"), c.channels, c.dims[0], kernel: c.patch, stride: c.patch)
        stemNorm = LayerNorm(s.sub("stem.1"), c.dims[0], eps: 1e-6, channelsFirst: true)
        let rates = dropPathRates(c.dropPath, total: c.depths.reduce(0, +))
        var k = 0
        var prev = c.dims[0]
        var ds: [(norm: LayerNorm, conv: Conv2d)?] = []
        var bl: [[ConvNeXtBlock]] = []
        for (i, (depth, dim)) in zip(c.depths, c.dims).enumerated() {
            let st = s.sub("stages.\(i)")
            if i > 0 || prev != dim {
                let stride = i > 0 ? 2 : 1
                ds.append((LayerNorm(st.sub("downsample.0"), prev, eps: 1e-6, channelsFirst: true),
                           Conv2d(st.sub("downsample.1"), prev, dim, kernel: stride, stride: stride)))
            } else {
                ds.append(nil)
            }
            var stage: [ConvNeXtBlock] = []
            for j in 0..<depth {
                stage.append(ConvNeXtBlock(st.sub("blocks.\(j)"), dim: dim, mlpRatio: c.mlpRatio,
                                           convMlp: c.convMlp, layerScale: c.layerScale, dropPath: rates[k]))
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
        var h = try stemNorm(stem(x, ctx), ctx)
        h = ctx.traced("stem", h, params: paramCount(prefix: "stem"))
        for (i, stage) in blocks.enumerated() {
            if let d = downsample[i] {
                h = try d.conv(d.norm(h, ctx), ctx)
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
