// The interface every trainable network implements (the five architectures, user models).
// Attacks, evaluation and training code against this protocol only.

import Tensor

/// A named parameter or buffer in timm/PyTorch state-dict naming ("stages.0.blocks.1.norm.weight").
public struct NamedTensor {
    public let name: String
    public let tensor: Tensor
    public init(_ name: String, _ tensor: Tensor) { self.name = name; self.tensor = tensor }
}

/// A classifier: images (N, C, H, W) in [0, 1] -> logits (N, classes).
/// Input normalisation (mean/std) happens inside `forward`, so attacks work in pixel space.
public protocol Model: AnyObject {
    /// Architecture name, e.g. "convnext_tiny".
    var name: String { get }
    /// Number of classes (logits per image).
    var classes: Int { get }
    /// Expected input: channels, height, width.
    var inputShape: (channels: Int, height: Int, width: Int) { get }
    /// Training mode (BatchNorm batch statistics, drop path on) or evaluation mode.
    var isTraining: Bool { get set }
    /// Matmul/conv input precision used by `forward`.
    var precision: Precision { get set }
    /// Logits for a batch; records the graph when autograd is on.
    func forward(_ x: Tensor) throws -> Tensor
    /// Trainable parameters in state-dict order and names.
    func parameters() -> [NamedTensor]
    /// Non-trainable state saved with the weights (BatchNorm running_mean/var/num_batches_tracked).
    func buffers() -> [NamedTensor]
    /// The largest batch of images (restarts x examples) that attacks in `RestartMode.auto` run
    /// at once: about where this model's per-image cost stops falling with the batch. Each model
    /// declares it (`RestartBatchLimit.standard` when nothing better is known).
    var restartBatchLimit: Int { get }
    /// The precision `fit` last trained this model at (nil: never trained by `fit`); evaluation
    /// records carry it as the study's "Train Prec" column.
    var trainedPrecision: Precision? { get set }
    /// What identifies the model's architecture and options (a resumed run must match it).
    /// Default: `name`.
    var identity: String { get }
}

/// Values models declare as their `restartBatchLimit`.
public enum RestartBatchLimit {
    /// 32 images: where DeiT's per-image cost stops falling at 32x32 on this CPU engine (it keeps
    /// all its tokens in every product); the limit of models with nothing better measured.
    public static let standard = 32
}

extension Model {
    public var identity: String { name }

    /// Total number of trainable scalars (what timm reports as the parameter count).
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.tensor.count } }
}
