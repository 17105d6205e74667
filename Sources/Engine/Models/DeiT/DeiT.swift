// DeiT (Touvron et al. 2021): timm 1.0.x VisionTransformer (timm/models/vision_transformer.py,
// deit_*_patch16_224).
//
// patch_embed.proj conv patch x patch -> tokens (B, N, D); prepend cls_token; + pos_embed (1, 1+N, D)
// blocks.i: x + drop_path(attn.proj(MHSA(attn.qkv(norm1 x)))), x + drop_path(mlp(norm2 x)); LayerNorm eps 1e-6
// norm -> class token -> head
// init as timm's init_weights (mode ''): pos_embed trunc_normal .02, cls_token normal 1e-6, every Linear
// trunc_normal .02 with zero bias, the patch embedding PyTorch's default (docs/models.md, "Initialisation").

import Tensor

final class ViTBlock {
    let dim: Int, heads: Int
    let norm1: LayerNorm, norm2: LayerNorm
    let qkv: Linear, proj: Linear, fc1: Linear, fc2: Linear
    let dropRate: Double

    init(_ s: Scope, dim: Int, heads: Int, mlpRatio: Int, dropPath: Double) {
        self.dim = dim
        self.heads = heads
        norm1 = LayerNorm(s.sub("norm1"), dim, eps: 1e-6)
        qkv = Linear(s.sub("attn.qkv"), dim, 3 * dim)
        proj = Linear(s.sub("attn.proj"), dim, dim)
        norm2 = LayerNorm(s.sub("norm2"), dim, eps: 1e-6)
        fc1 = Linear(s.sub("mlp.fc1"), dim, dim * mlpRatio)
        fc2 = Linear(s.sub("mlp.fc2"), dim * mlpRatio, dim)
        dropRate = dropPath
    }

    // x: (B, T, D) -> (B, T, D)
    func callAsFunction(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        let b = x.shape[0], t = x.shape[1], hd = dim / heads
        // qkv (B, T, 3 * dim) read in place by the attention (no reshape/permute/split copies)
        let a = try Tensor.attentionPacked(qkv: qkv(norm1(x, ctx), ctx), heads: heads, bias: nil, scale: 1 / Float(hd).squareRoot())
        ctx.count(2 * b * heads * t * t * hd)
        let o = try proj(a, ctx)
        let h = try dropPath(o, dropRate, ctx).add(x)
        let m = try fc2(fc1(norm2(h, ctx), ctx).gelu(), ctx)
        return try dropPath(m, dropRate, ctx).add(h)
    }
}

final class DeiT: Network {
    let clsToken: Tensor, posEmbed: Tensor
    let patchEmbed: Conv2d
    let blocks: [ViTBlock]
    let norm: LayerNorm
    let head: Linear

    init(_ config: ModelConfig, dry: Bool, rng: RNG) {
        let c = config
        let s = Scope(ParamStore(dry: dry, rng: rng))
        let d = c.dims[0], grid = c.image / c.patch
        // timm registers cls_token and pos_embed before patch_embed's weights are counted; order is cosmetic.
        clsToken = s.param("cls_token", [1, 1, d], .normal(1e-6))
        posEmbed = s.param("pos_embed", [1, 1 + grid * grid, d], .truncNormal(0.02))
        // timm's init_weights_vit_timm re-initialises Linear layers only: the patch embedding keeps
        // PyTorch's default init (uniform on +-1/sqrt(C * patch^2), weight and bias).
        patchEmbed = Conv2d(s.sub("patch_embed.proj"), c.channels, d, kernel: c.patch, stride: c.patch, initKind: .torchDefault)
        let rates = dropPathRates(c.dropPath, total: c.depths[0])
        blocks = (0..<c.depths[0]).map {
            ViTBlock(s.sub("blocks.\($0)"), dim: d, heads: c.heads[0], mlpRatio: c.mlpRatio, dropPath: rates[$0])
        }
        norm = LayerNorm(s.sub("norm"), d, eps: 1e-6)
        head = Linear(s.sub("head"), d, c.classes)
        super.init(config, store: s.store)
    }

    // x: (N, C, H, W) -> (N, classes)
    override func body(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        let b = x.shape[0], d = config.dims[0]
        var h = try patchEmbed(x, ctx)                       // (B, D, g, g)
        let t = h.shape[2] * h.shape[3]
        h = try h.reshape([b, d, t]).transpose(1, 2)         // (B, T, D)
        h = try Tensor.concat([clsToken.expand(to: [b, 1, d]), h], axis: 1).add(posEmbed)
        h = ctx.traced("patch_embed+pos", h, params: paramCount(prefix: "patch_embed") + clsToken.count + posEmbed.count)
        for (i, blk) in blocks.enumerated() {
            h = try blk(h, ctx)
            h = ctx.traced("blocks.\(i)", h, params: paramCount(prefix: "blocks.\(i)"))
        }
        // timm: `norm` is a top-level module after the blocks; the head classifies the class token.
        h = try norm(h, ctx)
        h = ctx.traced("norm", h, params: paramCount(prefix: "norm"))
        h = try head(h.slice(axis: 1, start: 0, end: 1).reshape([b, d]), ctx)
        return ctx.traced("head", h, params: paramCount(prefix: "head"))
    }
}
