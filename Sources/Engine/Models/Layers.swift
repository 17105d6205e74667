// Parameter-holding building blocks of the five architectures, named like timm's modules.
//
// A model is built through a `Scope` ("stages.1.blocks.0") over one `ParamStore` that keeps every
// parameter and buffer in creation order under its full state-dict name. In dry mode the store only
// counts (no allocation, no initialisation): the parameter-budget search builds hundreds of dry models.

import Tensor

/// How a parameter is initialised (timm's defaults for each kind of layer).
public enum ParamInit {
    case zeros, ones
    case constant(Float)
    /// Normal(0, std) truncated at +-2 (timm's `trunc_normal_(std=...)` with absolute bounds).
    case truncNormal(Float)
    /// Normal(0, std).
    case normal(Float)
    /// Kaiming normal, fan_out mode, ReLU gain (torchvision/timm ResNet convolutions).
    case kaimingFanOut
    /// Uniform on [-bound, bound) (the bias of a layer left at PyTorch's default init).
    case uniform(Float)
    /// PyTorch's default init of a weight (`nn.Conv2d`/`nn.Linear.reset_parameters`:
    /// kaiming_uniform with a = sqrt(5)), uniform on +-1/sqrt(fan_in), fan_in = Cin/groups * kh * kw
    /// or In. timm leaves the patch embedding of ViT and Swin at it (docs/models.md, "Initialisation").
    case torchDefault

    /// The bound 1/sqrt(fan_in) of PyTorch's default init for a weight of `shape` (also its bias's).
    static func torchDefaultBound(_ shape: [Int]) -> Float {
        let fanIn = shape.dropFirst().reduce(1, *)
        return Float(1 / Double(max(fanIn, 1)).squareRoot())
    }
}

/// Every parameter and buffer of one model, in creation order, under state-dict names.
public final class ParamStore {
    public private(set) var params: [NamedTensor] = []
    public private(set) var buffers: [NamedTensor] = []
    /// Number of trainable scalars (also counted in dry mode).
    public private(set) var paramCount = 0
    /// Dry stores count parameters without allocating them.
    public let dry: Bool
    let rng: RNG
    private static let placeholder = Tensor(zeros: [0])

    /// - Parameters:
    ///   - dry: count only (tensors are shared empty placeholders).
    ///   - rng: the generator used for initialisation.
    public init(dry: Bool, rng: RNG) {
        self.dry = dry
        self.rng = rng
    }

    /// Declares a trainable parameter.
    func param(_ name: String, _ shape: [Int], _ initKind: ParamInit) -> Tensor {
        let n = shape.reduce(1, *)
        paramCount += n
        if dry { return ParamStore.placeholder }
        let t = Tensor(zeros: shape)
        fill(t, initKind)
        t.requiresGrad = true
        params.append(NamedTensor(name, t))
        return t
    }

    /// Declares a non-trainable buffer saved with the weights (BatchNorm statistics).
    func buffer(_ name: String, _ shape: [Int], value: Float) -> Tensor {
        if dry { return ParamStore.placeholder }
        let t = Tensor(shape: shape, repeating: value)
        buffers.append(NamedTensor(name, t))
        return t
    }

    private func fill(_ t: Tensor, _ kind: ParamInit) {
        let p = t.ptr, n = t.count
        switch kind {
        case .zeros: break
        case .ones: p.update(repeating: 1, count: n)
        case .constant(let c): p.update(repeating: c, count: n)
        case .normal(let std): rng.fillNormal(p, n, scale: std)
        case .truncNormal(let std): rng.fillTruncatedNormal(p, n, scale: std, low: -2, high: 2)
        case .kaimingFanOut:
            // weight (Cout, Cin/groups, kh, kw): fan_out = Cout * kh * kw
            let fanOut = t.rank == 4 ? t.shape[0] * t.shape[2] * t.shape[3] : max(t.shape.first ?? 1, 1)
            let std = Float((2.0 / Double(max(fanOut, 1))).squareRoot())
            rng.fillNormal(p, n, scale: std)
        case .uniform, .torchDefault:
            let bound: Float
            if case .uniform(let b) = kind { bound = b } else { bound = ParamInit.torchDefaultBound(t.shape) }
            for i in 0..<n { p[i] = (2 * rng.uniform() - 1) * bound }
        }
    }
}

/// A position in the state-dict name tree ("stages.1.blocks.0") over a store.
public struct Scope {
    let store: ParamStore
    /// The prefix of every name declared through this scope ("" at the root).
    public let prefix: String

    init(_ store: ParamStore, _ prefix: String = "") {
        self.store = store
        self.prefix = prefix
    }

    /// The child scope `prefix.name`.
    func sub(_ name: String) -> Scope { Scope(store, full(name)) }
    func full(_ name: String) -> String { prefix.isEmpty ? name : prefix + "." + name }
    func param(_ name: String, _ shape: [Int], _ initKind: ParamInit) -> Tensor {
        store.param(full(name), shape, initKind)
    }
    func buffer(_ name: String, _ shape: [Int], value: Float) -> Tensor {
        store.buffer(full(name), shape, value: value)
    }
}

/// One row of a model summary: a traced unit's name, its output shape for one image, its parameter
/// count and the multiply-adds it did (those counted since the previous traced unit).
public typealias SummaryRow = (name: String, shape: [Int], params: Int, macs: Int)

/// State of one forward pass: mode, randomness, the multiply-add counter and the optional trace.
public final class ForwardContext {
    /// Training mode: BatchNorm batch statistics and drop path on.
    public let training: Bool
    /// Drop-path randomness.
    public let rng: RNG
    /// One drop-path generator per image of the batch (`SampleRNGs.current`), or nil: draw from `rng`.
    public let sampleRNGs: [RNG]?
    /// Images in the batch (multiply-adds are counted per image).
    public let batch: Int
    /// Multiply-adds of convolutions, linear layers and attention products for ONE image.
    public var macs = 0
    /// When set, each traced unit appends (name, output shape, parameter count, multiply-adds).
    public var trace: [SummaryRow]?
    /// `macs` when the previous unit was traced: a unit's multiply-adds are the difference.
    private var macsAtLastTrace = 0

    public init(training: Bool, rng: RNG, batch: Int, tracing: Bool = false) {
        self.training = training
        self.rng = rng
        self.batch = max(batch, 1)
        sampleRNGs = training ? SampleRNGs.current.flatMap { $0.count == batch ? $0 : nil } : nil
        trace = tracing ? [] : nil
    }

    /// Adds `total` multiply-adds of the whole batch (divided per image).
    func count(_ total: Int) { macs += total / batch }

    /// Records a unit's output for `summary`.
    /// (`params` is only evaluated while tracing.)
    func traced(_ name: @autoclosure () -> String, _ out: Tensor, params: @autoclosure () -> Int) -> Tensor {
        if trace != nil {
            trace?.append((name(), out.shape, params(), macs - macsAtLastTrace))
            macsAtLastTrace = macs
        }
        return out
    }
}

/// Linear layer (PyTorch layout weight (Out, In)); `conv1x1` stores it as (Out, In, 1, 1) and
/// applies it to NCHW maps (timm's ConvMlp / Mlp(use_conv=True)).
final class Linear {
    let weight: Tensor
    let bias: Tensor?
    let inFeatures: Int, outFeatures: Int
    let conv1x1: Bool

    init(_ s: Scope, _ inF: Int, _ outF: Int, bias: Bool = true, conv1x1: Bool = false,
         initKind: ParamInit = .truncNormal(0.02)) {
        inFeatures = inF
        outFeatures = outF
        self.conv1x1 = conv1x1
        weight = s.param("weight", conv1x1 ? [outF, inF, 1, 1] : [outF, inF], initKind)
        self.bias = bias ? s.param("bias", [outF], .zeros) : nil
    }

    // x: (..., In) -> (..., Out); conv1x1: (N, In, H, W) -> (N, Out, H, W)
    func callAsFunction(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        ctx.count(x.count / max(inFeatures, 1) * inFeatures * outFeatures)
        if conv1x1 { return try Tensor.conv2d(x, weight: weight, bias: bias) }
        return try Tensor.linear(x, weight: weight, bias: bias)
    }
}

/// 2-D convolution (weight (Cout, Cin/groups, kh, kw)).
final class Conv2d {
    let weight: Tensor
    let bias: Tensor?
    let stride: Int, padding: Int, groups: Int
    let inChannels: Int, outChannels: Int, kernel: Int

    init(_ s: Scope, _ cin: Int, _ cout: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
         groups: Int = 1, bias: Bool = true, initKind: ParamInit = .truncNormal(0.02)) {
        inChannels = cin
        outChannels = cout
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.groups = groups
        let shape = [cout, cin / max(groups, 1), kernel, kernel]
        weight = s.param("weight", shape, initKind)
        // PyTorch's default init draws the bias on the weight's bound too; timm's inits zero it.
        var biasInit = ParamInit.zeros
        if case .torchDefault = initKind { biasInit = .uniform(ParamInit.torchDefaultBound(shape)) }
        self.bias = bias ? s.param("bias", [cout], biasInit) : nil
    }

    // x: (N, Cin, H, W) -> (N, Cout, Ho, Wo)
    func callAsFunction(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        let y = try Tensor.conv2d(x, weight: weight, bias: bias, stride: (stride, stride),
                                  padding: (padding, padding), groups: groups)
        ctx.count(y.count * (inChannels / max(groups, 1)) * kernel * kernel)
        return y
    }
}

/// LayerNorm over the last dimension (`channelsFirst`: over C of NCHW, timm's LayerNorm2d).
final class LayerNorm {
    let weight: Tensor, bias: Tensor
    let eps: Float
    let channelsFirst: Bool

    init(_ s: Scope, _ dim: Int, eps: Float, channelsFirst: Bool = false) {
        weight = s.param("weight", [dim], .ones)
        bias = s.param("bias", [dim], .zeros)
        self.eps = eps
        self.channelsFirst = channelsFirst
    }

    // x: (..., C) or, channels first, (N, C, H, W)
    func callAsFunction(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        channelsFirst
            ? try Tensor.layerNorm2d(x, weight: weight, bias: bias, eps: eps)
            : try Tensor.layerNorm(x, weight: weight, bias: bias, eps: eps)
    }
}

/// GroupNorm with one group (PoolFormer's GroupNorm1), eps 1e-5.
final class GroupNorm1 {
    let weight: Tensor, bias: Tensor
    let eps: Float

    init(_ s: Scope, _ dim: Int, eps: Float = 1e-5) {
        weight = s.param("weight", [dim], .ones)
        bias = s.param("bias", [dim], .zeros)
        self.eps = eps
    }

    // x: (N, C, H, W)
    func callAsFunction(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        try Tensor.groupNorm(x, groups: 1, weight: weight, bias: bias, eps: eps)
    }
}

/// BatchNorm2d with PyTorch's buffers (running_mean, running_var, num_batches_tracked).
final class BatchNorm2d {
    let weight: Tensor, bias: Tensor
    let runningMean: Tensor, runningVar: Tensor, numBatchesTracked: Tensor
    let eps: Float = 1e-5, momentum: Float = 0.1

    init(_ s: Scope, _ dim: Int, zeroInit: Bool = false) {
        weight = s.param("weight", [dim], zeroInit ? .zeros : .ones)
        bias = s.param("bias", [dim], .zeros)
        runningMean = s.buffer("running_mean", [dim], value: 0)
        runningVar = s.buffer("running_var", [dim], value: 1)
        numBatchesTracked = s.buffer("num_batches_tracked", [], value: 0)
    }

    // x: (N, C, H, W)
    func callAsFunction(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        try callAsFunction(x, ctx, plus: nil, then: nil)
    }

    /// act(bn(x) + residual) in one fused pass (Tensor.batchNorm's `residual` and `act`): the
    /// values of the separate ops, without keeping bn(x) and the sum for backward.
    // x, residual: (N, C, H, W)
    func callAsFunction(_ x: Tensor, _ ctx: ForwardContext, plus residual: Tensor?, then act: Activation?) throws -> Tensor {
        if ctx.training { numBatchesTracked.ptr[0] += 1 }
        return try Tensor.batchNorm(x, weight: weight, bias: bias, runningMean: runningMean,
                                    runningVar: runningVar, training: ctx.training,
                                    momentum: momentum, eps: eps, residual: residual, act: act?.fused)
    }
}

/// Activation functions the architectures use.
enum Activation: String {
    case gelu, relu
    func callAsFunction(_ x: Tensor) -> Tensor { self == .gelu ? x.gelu() : x.relu() }
    /// The same activation as a fused batch norm applies it (`BatchNorm2d`'s `then`).
    var fused: NormActivation { self == .gelu ? .gelu : .relu }
}

/// Stochastic depth: in training, zeroes whole samples of a residual branch with probability `p`
/// and scales the kept ones by 1/(1-p) (timm's DropPath with scale_by_keep).
// x: (N, ...)
func dropPath(_ x: Tensor, _ p: Double, _ ctx: ForwardContext) throws -> Tensor {
    let n = x.shape.first ?? 1
    guard let m = dropPathFactors(n, p, ctx) else { return x }
    let mask = try Tensor(shape: [n] + [Int](repeating: 1, count: max(x.rank - 1, 0)), data: m)
    return try x.mul(mask)
}

/// Drop path's per-sample factors for a batch of n (0 for a dropped sample, 1 / (1 - p) for a
/// kept one), drawn as `dropPath` draws them; nil when it does nothing (evaluation, or p == 0).
/// For ops that take the mask as a factor (`Tensor.scaledResidual`, `Tensor.poolMixer`).
func dropPathFactors(_ n: Int, _ p: Double, _ ctx: ForwardContext) -> [Float]? {
    guard ctx.training, p > 0 else { return nil }
    let keep = 1 - p
    var m = [Float](repeating: 0, count: n)
    let rows = ctx.sampleRNGs.flatMap { $0.count == n ? $0 : nil }
    for i in 0..<n where (rows?[i] ?? ctx.rng).bernoulli(keep) { m[i] = Float(1 / keep) }
    return m
}

/// Per-image drop-path generators for the training forward passes inside `with`: adversarial
/// training keys them by (seed, epoch, image position), so an image drops the same paths
/// whichever process and batch it is in (docs/distributed.md).
public enum SampleRNGs {
    nonisolated(unsafe) static var current: [RNG]?

    /// Runs `body` with `rngs` as the per-image drop-path generators of training forward passes
    /// whose batch has `rngs.count` images; restores the previous ones afterwards.
    public static func with<T>(_ rngs: [RNG]?, _ body: () throws -> T) rethrows -> T {
        let saved = current
        current = rngs
        defer { current = saved }
        return try body()
    }
}

/// Linear drop-path rates from 0 to `rate` over `total` blocks (timm's stochastic depth rule).
func dropPathRates(_ rate: Double, total: Int) -> [Double] {
    guard total > 1 else { return [Double](repeating: 0, count: max(total, 0)) }
    return (0..<total).map { rate * Double($0) / Double(total - 1) }
}
