// Swin Transformer (Liu et al. 2021) as timm 1.0.x builds it (timm/models/swin_transformer.py).
//
// patch_embed.proj conv patch x patch -> NHWC -> patch_embed.norm LayerNorm
// layers.i: downsample (i > 0: PatchMerging: pad odd maps, concat 2x2 neighbours (x00, x10, x01, x11),
//   norm LayerNorm(4C), reduction Linear 4C -> C' without bias), blocks (B, H, W, C):
//   x + drop_path(attn(norm1 x)), then x + drop_path(mlp(norm2 x)).
//   attn: window = min(map, window), shift = window/2 on odd blocks unless the map fits one window;
//   roll by -shift, pad to a multiple of the window, partition, W-MSA with relative position bias
//   (table ((2w-1)^2, heads), index (dy+w-1)(2w-1) + (dx+w-1)) and the -100 shift mask, merge,
//   crop, roll back. The roll, pad and partition are one pass (Tensor.windowPartition), and so are
//   the merge, crop, roll back, drop path and residual add (Tensor.windowMerge).
// norm LayerNorm -> head: average over H, W -> head.fc

import Tensor

/// Relative position bias gathered from the table: out[h, i, j] = table[index[i][j], h].
// table: (L, heads) -> (1, heads, N, N)
func gatherRelativeBias(_ table: Tensor, _ index: [Int32], n: Int) throws -> Tensor {
    let heads = table.shape[1]
    let out = Tensor(zeros: [1, heads, n, n])
    let tp = table.ptr, op = out.ptr
    for h in 0..<heads {
        for ij in 0..<(n * n) { op[h * n * n + ij] = tp[Int(index[ij]) * heads + h] }
    }
    out.record([table]) { g in
        let gt = Tensor(zeros: table.shape)
        let gp = gt.ptr, gg = g.ptr
        for h in 0..<heads {
            for ij in 0..<(n * n) { gp[Int(index[ij]) * heads + h] += gg[h * n * n + ij] }
        }
        table.addGrad(gt)
    }
    return out
}

final class SwinBlock {
    let dim: Int, heads: Int, window: Int, shift: Int, resolution: Int
    let norm1: LayerNorm, norm2: LayerNorm
    let qkv: Linear, proj: Linear, fc1: Linear, fc2: Linear
    let table: Tensor
    let index: [Int32]
    /// (1, nW * heads, N, N) additive mask of shifted windows, repeated over heads; nil when unshifted.
    let mask: Tensor?
    let dropRate: Double

    init(_ s: Scope, dim: Int, heads: Int, resolution: Int, targetWindow: Int, shifted: Bool,
         mlpRatio: Int, dropPath: Double, dry: Bool) {
        self.dim = dim
        self.heads = heads
        self.resolution = resolution
        // timm's _calc_window_shift
        window = resolution <= targetWindow ? resolution : targetWindow
        shift = (resolution <= window || !shifted) ? 0 : targetWindow / 2
        norm1 = LayerNorm(s.sub("norm1"), dim, eps: 1e-5)
        let w = window
        table = s.param("attn.relative_position_bias_table", [(2 * w - 1) * (2 * w - 1), heads], .truncNormal(0.02))
        qkv = Linear(s.sub("attn.qkv"), dim, 3 * dim)
        proj = Linear(s.sub("attn.proj"), dim, dim)
        norm2 = LayerNorm(s.sub("norm2"), dim, eps: 1e-5)
        fc1 = Linear(s.sub("mlp.fc1"), dim, dim * mlpRatio)
        fc2 = Linear(s.sub("mlp.fc2"), dim * mlpRatio, dim)
        dropRate = dropPath
        var idx = [Int32](repeating: 0, count: dry ? 0 : w * w * w * w)
        if !dry {
            for i in 0..<(w * w) {
                for j in 0..<(w * w) {
                    let dy = i / w - j / w + w - 1, dx = i % w - j % w + w - 1
                    idx[i * w * w + j] = Int32(dy * (2 * w - 1) + dx)
                }
            }
        }
        index = idx
        mask = (dry || shift == 0) ? nil : SwinBlock.shiftMask(resolution: resolution, window: w, shift: shift, heads: heads)
    }

    /// timm's get_attn_mask on the padded map: 9 regions, -100 between different regions.
    static func shiftMask(resolution: Int, window w: Int, shift: Int, heads: Int) -> Tensor {
        let hp = (resolution + w - 1) / w * w
        func region(_ i: Int) -> Int { i < hp - w ? 0 : (i < hp - shift ? 1 : 2) }
        let nw = (hp / w) * (hp / w), n = w * w
        let m = Tensor(zeros: [1, nw * heads, n, n])
        let p = m.ptr
        var ids = [Int](repeating: 0, count: n)
        for wy in 0..<(hp / w) {
            for wx in 0..<(hp / w) {
                for t in 0..<n { ids[t] = region(wy * w + t / w) * 3 + region(wx * w + t % w) }
                let win = wy * (hp / w) + wx
                for h in 0..<heads {
                    let base = ((win * heads) + h) * n * n
                    for i in 0..<n { for j in 0..<n where ids[i] != ids[j] { p[base + i * n + j] = -100 } }
                }
            }
        }
        return m
    }

    // x: (B, H, W, C) -> the windows' attention output (B * nW, N, C), in the order
    // `Tensor.windowPartition` gives them (roll by -shift, pad, partition in one pass).
    func attention(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        let b = x.shape[0], c = dim, w = window, n = w * w
        let h = try Tensor.windowPartition(x, window: w, shift: shift)
        let nw = h.shape[0] / b
        let hd = c / heads
        // bias (nW, heads, N, N): relative position bias, plus the shift mask of each window
        // position; window b of the (B * nW) batch uses bias[b % nW].
        var bias = try gatherRelativeBias(table, index, n: n)  // (1, heads, N, N)
        if let m = mask {
            bias = try bias.expand(to: [nw, heads, n, n]).reshape([1, nw * heads, n, n]).add(m).reshape([nw, heads, n, n])
        }
        let o = try Tensor.attentionPacked(qkv: qkv(h, ctx), heads: heads, bias: bias, scale: 1 / Float(hd).squareRoot())
        ctx.count(2 * b * nw * heads * n * n * hd)
        return try proj(o, ctx)
    }

    // x: (B, H, W, C) -> (B, H, W, C)
    func callAsFunction(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        // Window reverse, crop, roll back, drop path and the residual add in one pass.
        var h = try Tensor.windowMerge(attention(norm1(x, ctx), ctx), height: x.shape[1], width: x.shape[2], shift: shift,
                                       residual: x, sampleScale: dropPathFactors(x.shape[0], dropRate, ctx))
        let m = try fc2(fc1(norm2(h, ctx), ctx).gelu(), ctx)
        h = try dropPath(m, dropRate, ctx).add(h)
        return h
    }
}

/// PatchMerging: (B, H, W, C) -> (B, ceil(H/2), ceil(W/2), out).
final class PatchMerging {
    let norm: LayerNorm
    let reduction: Linear
    let dim: Int

    init(_ s: Scope, dim: Int, out: Int) {
        self.dim = dim
        norm = LayerNorm(s.sub("norm"), 4 * dim, eps: 1e-5)
        reduction = Linear(s.sub("reduction"), 4 * dim, out, bias: false)
    }

    // x: (B, H, W, C) -> (B, H/2, W/2, out)
    func callAsFunction(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        var h = x
        let b = x.shape[0], c = x.shape[3]
        let ph = x.shape[1] % 2, pw = x.shape[2] % 2
        if ph + pw > 0 { h = try h.pad([(0, 0), (0, ph), (0, pw), (0, 0)]) }
        let hh = h.shape[1] / 2, ww = h.shape[2] / 2
        // (B, H/2, 2, W/2, 2, C) -> (B, H/2, W/2, 2(w), 2(h), C): order x00, x10, x01, x11
        h = try h.reshape([b, hh, 2, ww, 2, c]).permute([0, 1, 3, 4, 2, 5]).reshape([b, hh, ww, 4 * c])
        return try reduction(norm(h, ctx), ctx)
    }
}

final class Swin: Network {
    let patchEmbed: Conv2d
    let patchNorm: LayerNorm
    var merges: [PatchMerging?] = []
    var blocks: [[SwinBlock]] = []
    let norm: LayerNorm
    let fc: Linear

    init(_ config: ModelConfig, dry: Bool, rng: RNG) {
        let c = config
        let s = Scope(ParamStore(dry: dry, rng: rng))
        // timm initialises Swin as ViT (init_weights_vit_timm: Linear layers only), so the patch
        // embedding keeps PyTorch's default init (docs/models.md, "Initialisation").
        patchEmbed = Conv2d(s.sub("patch_embed.proj"), c.channels, c.dims[0], kernel: c.patch, stride: c.patch, initKind: .torchDefault)
        patchNorm = LayerNorm(s.sub("patch_embed.norm"), c.dims[0], eps: 1e-5)
        let rates = dropPathRates(c.dropPath, total: c.depths.reduce(0, +))
        var k = 0, prev = c.dims[0], res = c.image / c.patch
        var ms: [PatchMerging?] = [], bl: [[SwinBlock]] = []
        for (i, (depth, dim)) in zip(c.depths, c.dims).enumerated() {
            let st = s.sub("layers.\(i)")
            if i > 0 {
                ms.append(PatchMerging(st.sub("downsample"), dim: prev, out: dim))
                res = (res + 1) / 2
            } else {
                ms.append(nil)
            }
            var stage: [SwinBlock] = []
            for j in 0..<depth {
                stage.append(SwinBlock(st.sub("blocks.\(j)"), dim: dim, heads: c.heads[i], resolution: res,
                                       targetWindow: c.window, shifted: j % 2 == 1, mlpRatio: c.mlpRatio,
                                       dropPath: rates[k], dry: dry))
                k += 1
            }
            bl.append(stage)
            prev = dim
        }
        merges = ms
        blocks = bl
        norm = LayerNorm(s.sub("norm"), prev, eps: 1e-5)
        fc = Linear(s.sub("head.fc"), prev, c.classes)
        super.init(config, store: s.store)
    }

    // x: (N, C, H, W) -> (N, classes)
    override func body(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        var h = try patchEmbed(x, ctx).permute([0, 2, 3, 1])
        h = try patchNorm(h, ctx)
        h = ctx.traced("patch_embed", h, params: paramCount(prefix: "patch_embed"))
        for (i, stage) in blocks.enumerated() {
            if let m = merges[i] {
                h = try m(h, ctx)
                h = ctx.traced("layers.\(i).downsample", h, params: paramCount(prefix: "layers.\(i).downsample"))
            }
            for (j, b) in stage.enumerated() {
                h = try b(h, ctx)
                h = ctx.traced("layers.\(i).blocks.\(j)", h, params: paramCount(prefix: "layers.\(i).blocks.\(j)"))
            }
        }
        // timm: `norm` is a top-level module after the stages; `head` pools (NHWC) and classifies.
        h = try norm(h, ctx)
        h = ctx.traced("norm", h, params: paramCount(prefix: "norm"))
        h = try fc(h.mean(axes: [1, 2]), ctx)
        return ctx.traced("head", h, params: paramCount(prefix: "head"))
    }
}
