// The optimizer interface: one `step(lr:)` per optimizer step, reading each parameter's `grad`.
// State (moments, momentum buffers, step count) is exposed as named tensors for checkpoints.

import Tensor

/// An optimizer over parameter groups. Parameters whose `grad` is nil are skipped (as PyTorch does).
public protocol Optimizer: AnyObject {
    /// Short name ("adamw", "sgd").
    var name: String { get }
    /// The parameter groups (weight decay and lr scale per group).
    var groups: [ParameterGroup] { get }
    /// Number of steps taken so far.
    var stepCount: Int { get set }
    /// Updates every parameter with its gradient at learning rate `lr` (times the group's scale).
    func step(lr: Double) throws
    /// The per-parameter state for a checkpoint, named "<kind>.<parameter name>".
    func stateTensors() -> [NamedTensor]
    /// Restores state written by `stateTensors()`; throws naming the first missing or misshapen entry.
    func loadState(_ tensors: [String: Tensor]) throws
}

extension Optimizer {
    /// Sets every parameter's gradient to nil (the next backward allocates fresh ones).
    public func zeroGrad() {
        for g in groups { for p in g.parameters { p.tensor.grad = nil } }
    }

    /// All parameters of all groups.
    public var allParameters: [NamedTensor] { groups.flatMap { $0.parameters } }
}

/// Copies `src` into a state slot named `key`, checking that its shape matches `like`.
func restoreSlot(_ tensors: [String: Tensor], _ key: String, like p: Tensor) throws -> Tensor? {
    guard let t = tensors[key] else { return nil }
    guard t.shape == p.shape else {
        throw EngineError.shape("optimizer state '\(key)' has shape \(t.shape), parameter has \(p.shape)")
    }
    return t.copy()
}
