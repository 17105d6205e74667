// The common part of the five architectures: the `Model` conformance, input normalisation inside
// forward (so attacks work in pixel space), precision and mode handling, multiply-add counting,
// the per-stage tree and the layer summary.
import Foundation
import Tensor

/// A network built from a `ModelConfig`. Subclasses declare their layers in `init` through a
/// `Scope` over a new `ParamStore`, pass the store to `super.init` and implement `body`.
public class Network {
    /// The configuration the network was built from.
    public let config: ModelConfig
    /// Every parameter and buffer under timm state-dict names.
    public let store: ParamStore
    /// Training mode (BatchNorm batch statistics, drop path). Models start in evaluation mode.
    public var isTraining = false
    /// Matmul/conv input precision used by `forward`.
    public var precision: Precision = .fp32
    /// The precision `fit` trained the model at (nil: not trained by `fit`).
    public var trainedPrecision: Precision? = nil
    /// Randomness of drop path.
    public var rng: RNG { RNG.global }
    let meanT: Tensor, stdT: Tensor
    private var macsCache: Int?

    /// - Parameters:
    ///   - config: validated configuration.
    ///   - store: the store the subclass declared its layers in (dry: count only, no forward).
    init(_ config: ModelConfig, store: ParamStore) {
        self.config = config
        self.store = store
        let c = config.channels
        meanT = (try? Tensor(shape: [1, c, 1, 1], data: config.mean)) ?? Tensor(zeros: [1, c, 1, 1])
        stdT = (try? Tensor(shape: [1, c, 1, 1], data: config.std)) ?? Tensor(shape: [1, c, 1, 1], repeating: 1)
    }

    /// The architecture's forward pass on normalised input. Overridden by each architecture.
    // x: (N, C, H, W) normalised -> (N, classes)
    func body(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        throw EngineError.invalidArgument("\(config.name): no forward pass")
    }

    /// True when the architecture needs exactly the configured image size (position embeddings,
    /// precomputed windows): a fact its family declares.
    var fixedInputSize: Bool { config.arch.family.fixedInputSize }

    /// The family's restart batch limit (each family's file says how it was chosen).
    public var restartBatchLimit: Int { config.arch.family.restartBatchLimit }

    /// Forward pass with an explicit context (flops counting, tracing).
    func run(_ x: Tensor, _ ctx: ForwardContext) throws -> Tensor {
        if store.dry { throw EngineError.invalidArgument("\(config.name): a dry (count-only) model cannot run") }
        let c = config.channels
        guard x.rank == 4, x.shape[1] == c else {
            throw EngineError.shape("\(config.name): input must be (N, \(c), H, W) images, got \(x.shape)")
        }
        if fixedInputSize, x.shape[2] != config.image || x.shape[3] != config.image {
            throw EngineError.shape("\(config.name): built for \(config.image)x\(config.image) images, got \(x.shape[2])x\(x.shape[3]) (pass image: \(x.shape[2]) to model())")
        }
        let saved = Precision.current
        Precision.current = precision
        defer { Precision.current = saved }
        let xn = try x.sub(meanT).div(stdT)
        return try body(xn, ctx)
    }

    /// Logits for a batch of images in [0, 1]; records the graph when autograd is on.
    // x: (N, C, H, W) -> (N, classes)
    public func forward(_ x: Tensor) throws -> Tensor {
        try run(x, ForwardContext(training: isTraining, rng: rng, batch: x.shape.first ?? 1))
    }

    /// Multiply-adds of one forward pass for one image (convolutions, linear layers and the two
    /// attention products), counted on a traced evaluation-mode pass and cached.
    public func macs() throws -> Int {
        if let m = macsCache { return m }
        let ctx = ForwardContext(training: false, rng: RNG(seed: 0), batch: 1)
        let x = Tensor(shape: [1, config.channels, config.image, config.image], repeating: 0.5)
        _ = try Autograd.noGrad { try run(x, ctx) }
        macsCache = ctx.macs
        return ctx.macs
    }

    /// Each traced unit's output shape, parameter count and multiply-adds (convolutions, linear
    /// layers and attention products, as `macs()` counts them) for one image of side `image`.
    /// The units partition the forward pass, so the rows' multiply-adds sum to the pass's total.
    public func summaryRows(image: Int? = nil) throws -> [SummaryRow] {
        let side = image ?? config.image
        if fixedInputSize, side != config.image {
            throw EngineError.invalidArgument("\(config.name): summary image must be the built size \(config.image) (got \(side))")
        }
        guard side >= 1, side <= 4096 else { throw EngineError.invalidArgument("summary: image must be 1...4096, got \(side)") }
        let ctx = ForwardContext(training: false, rng: RNG(seed: 0), batch: 1, tracing: true)
        let x = Tensor(shape: [1, config.channels, side, side], repeating: 0.5)
        _ = try Autograd.noGrad { try run(x, ctx) }
        return ctx.trace ?? []
    }

    /// Parameters timm exempts from weight decay besides 1-D tensors (biases, norms, layer scales):
    /// DeiT's pos_embed and cls_token, Swin's relative position bias tables (timm's `no_weight_decay()`).
    public var noWeightDecay: [String] {
        store.params.map(\.name).filter {
            $0 == "pos_embed" || $0 == "cls_token" || $0.hasSuffix("relative_position_bias_table")
        }
    }

    /// Parameters under a name prefix ("stages.1").
    func paramCount(prefix: String) -> Int {
        let p = prefix + "."
        return store.params.reduce(0) { $0 + ($1.name.hasPrefix(p) || $1.name == prefix ? $1.tensor.count : 0) }
    }

    /// Top-level groups of the state dict in order ("stem", "stages.0", ..., "head") with counts.
    public func stageCounts() -> [(name: String, params: Int)] {
        var order: [String] = []
        var counts: [String: Int] = [:]
        for p in store.params {
            let parts = p.name.split(separator: ".")
            var key = String(parts.first ?? "")
            if parts.count > 2, ["stages", "layers", "blocks"].contains(key), parts[1].allSatisfy(\.isNumber) {
                key += "." + parts[1]
            }
            if counts[key] == nil { order.append(key) }
            counts[key, default: 0] += p.tensor.count
        }
        return order.map { ($0, counts[$0] ?? 0) }
    }

    /// A compact multi-line description: the configuration and parameters per stage.
    public var treeDescription: String {
        let c = config
        var head = "\(c.name) (\(c.channels)x\(c.image)x\(c.image) -> \(c.classes) classes, "
        head += "depths \(c.depths), dims \(c.dims)"
        if !c.heads.isEmpty { head += ", heads \(c.heads)" }
        head += "): \(Network.formatCount(store.paramCount)) params"
        var lines = [head]
        var groups = stageCounts()
        // DeiT has 12 top-level blocks: fold them into one line.
        let blockGroups = groups.filter { $0.name.hasPrefix("blocks.") }
        if blockGroups.count > 4 {
            let total = blockGroups.reduce(0) { $0 + $1.params }
            let first = groups.firstIndex { $0.name.hasPrefix("blocks.") } ?? 0
            groups.removeAll { $0.name.hasPrefix("blocks.") }
            groups.insert(("blocks.0-\(blockGroups.count - 1)", total), at: Swift.min(first, groups.count))
        }
        for (i, g) in groups.enumerated() {
            let branch = i == groups.count - 1 ? "└─ " : "├─ "
            lines.append(branch + g.name.padding(toLength: 14, withPad: " ", startingAt: 0)
                         + Network.formatCount(g.params).leftPadded(9))
        }
        return lines.joined(separator: "\n")
    }

    /// 28589128 -> "28.59M", 61162 -> "61.16K".
    public static func formatCount(_ n: Int) -> String {
        if n >= 1_000_000 { return String(format: "%.2fM", Double(n) / 1e6) }
        if n >= 10_000 { return String(format: "%.2fK", Double(n) / 1e3) }
        return String(n)
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}

extension Network: Model {
    public var name: String { config.name }
    public var classes: Int { config.classes }
    public var inputShape: (channels: Int, height: Int, width: Int) {
        (config.channels, config.image, config.image)
    }
    public func parameters() -> [NamedTensor] { store.params }
    public func buffers() -> [NamedTensor] { store.buffers }
    /// The configuration as JSON: architecture, every option, drop path.
    public var identity: String { config.json }
}
