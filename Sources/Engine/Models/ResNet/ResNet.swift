// ResNet v1.5 (He et al. 2016; stride on the 3x3 conv) as timm 1.0.x builds it (timm/models/resnet.py),
// with the activation a choice: GELU by default here (the study's resnet50_gelu), ReLU with act: "relu".
//
// conv1 7x7 stride 2 pad 3 (no bias) -> bn1 -> act -> max pool 3 stride 2 pad 1
// layer1..4 (stride 2 from layer2 on, on the first block):
//   Bottleneck: conv1 1x1 -> bn1 -> act -> conv2 3x3 stride -> bn2 -> act -> conv3 1x1 (4x) -> bn3
//   Basic:      conv1 3x3 stride -> bn1 -> act -> conv2 3x3 -> bn2
//   -> drop path -> + shortcut (downsample.0 conv 1x1 stride, downsample.1 BatchNorm when the shape
//   changes) -> act
// global average pool -> fc

import Tensor

final class ResNetBlock {
    let convs: [Conv2d]
    let bns: [BatchNorm2d]
    let down: (conv: Conv2d, bn: BatchNorm2d)?
    let act: Activation
    let dropRate: Double

    init(_ s: Scope, inplanes: Int, planes: Int, stride: Int, bottleneck: Bool, act: Activation, dropPath: Double) {
        let expansion = bottleneck ? 4 : 1
        let out = planes * expansion
        let k = ParamInit.kaimingFanOut
        if bottleneck {
            convs = [Conv2d(s.sub("conv1"), inplanes, planes, kernel: 1, bias: false, initKind: k),
                     Conv2d(s.sub("conv2"), planes, planes, kernel: 3, stride: stride, padding: 1, bias: false, initKind: k),
                     Conv2d(s.sub("conv3"), planes, out, kernel: 1, bias: false, initKind: k)]
            bns = [BatchNorm2d(s.sub("bn1"), planes), BatchNorm2d(s.sub("bn2"), planes),
                   BatchNorm2d(s.sub("bn3"), out, zeroInit: true)]
        } else {
            convs = [Conv2d(s.sub("conv1"), inplanes, planes, kernel: 3, stride: stride, padding: 1, bias: false, initKind: k),
                     Conv2d(s.sub("conv2"), planes, planes, kernel: 3, padding: 1, bias: false, initKind: k)]
            bns = [BatchNorm2d(s.sub("bn1"), planes), BatchNorm2d(s.sub("bn2"), planes, zeroInit: true)]
        }
        if stride != 1 || inplanes != out {
            down = (Conv2d(s.sub("downsample.0"), inplanes, out, kernel: 1, stride: stride, bias: false, initKind: k),
                    BatchNorm2d(s.sub("downsample.1"), out))
        } else {
            down = nil
        }
        self.act = act
        dropRate = dropPath
    }

    // x: (N, Cin, H, W) -> (N, Cout, H/stride, W/stride)
    // Each batch norm is fused with what follows it (BatchNorm2d's `plus`/`then`): the act, and for
    // the last one the shortcut add and the act, unless drop path is active (it scales the branch
    // between the norm and the add).
    func callAsFunction(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        var h = x
        for i in convs.indices.dropLast() {
            h = try bns[i](convs[i](h, ctx), ctx, plus: nil, then: act)
        }
        let last = try convs[convs.count - 1](h, ctx)
        if ctx.training && dropRate > 0 {
            h = try dropPath(bns[bns.count - 1](last, ctx), dropRate, ctx)
            let shortcut = try down.map { try $0.bn($0.conv(x, ctx), ctx) } ?? x
            return try act(h.add(shortcut))
        }
        let shortcut = try down.map { try $0.bn($0.conv(x, ctx), ctx) } ?? x
        return try bns[bns.count - 1](last, ctx, plus: shortcut, then: act)
    }
}

final class ResNet: Network {
    let conv1: Conv2d
    let bn1: BatchNorm2d
    let act: Activation
    var layers: [[ResNetBlock]] = []
    let fc: Linear

    init(_ config: ModelConfig, dry: Bool, rng: RNG) {
        let c = config
        let s = Scope(ParamStore(dry: dry, rng: rng))
        let act = Activation(rawValue: c.act) ?? .gelu
        self.act = act
        conv1 = Conv2d(s.sub("conv1"), c.channels, c.stem, kernel: 7, stride: 2, padding: 3, bias: false,
                       initKind: .kaimingFanOut)
        bn1 = BatchNorm2d(s.sub("bn1"), c.stem)
        let rates = dropPathRates(c.dropPath, total: c.depths.reduce(0, +))
        var k = 0, inplanes = c.stem
        var ls: [[ResNetBlock]] = []
        for (i, (depth, planes)) in zip(c.depths, c.dims).enumerated() {
            var stage: [ResNetBlock] = []
            for j in 0..<depth {
                let stride = (i > 0 && j == 0) ? 2 : 1
                stage.append(ResNetBlock(s.sub("layer\(i + 1).\(j)"), inplanes: inplanes, planes: planes, stride: stride,
                                         bottleneck: c.bottleneck, act: act, dropPath: rates[k]))
                inplanes = planes * (c.bottleneck ? 4 : 1)
                k += 1
            }
            ls.append(stage)
        }
        layers = ls
        // timm: nn.Linear default init is replaced by its own; fc keeps PyTorch's uniform-like scale
        fc = Linear(s.sub("fc"), inplanes, c.classes, initKind: .normal(Float(1 / Double(inplanes).squareRoot()) / 1.7320508))
        super.init(config, store: s.store)
    }

    // x: (N, C, H, W) -> (N, classes)
    override func body(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        var h = try bn1(conv1(x, ctx), ctx, plus: nil, then: act).maxPool2d(kernel: 3, stride: 2, padding: 1)
        h = ctx.traced("stem", h, params: paramCount(prefix: "conv1") + paramCount(prefix: "bn1"))
        for (i, stage) in layers.enumerated() {
            for (j, b) in stage.enumerated() {
                h = try b(h, ctx)
                h = ctx.traced("layer\(i + 1).\(j)", h, params: paramCount(prefix: "layer\(i + 1).\(j)"))
            }
        }
        h = try h.globalAvgPool()
        h = try fc(h, ctx)
        return ctx.traced("fc", h, params: paramCount(prefix: "fc"))
    }
}
