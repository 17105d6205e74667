// Dynamic loss scaling for fp16 training (torch.cuda.amp.GradScaler semantics): the loss is
// multiplied by `scale` before backward; gradients are divided by it before the step. When any
// gradient is inf/NaN the step is skipped and the scale halved; after `growthInterval` clean
// steps in a row the scale doubles.

import Tensor

/// The fp16 loss-scale state machine.
public struct LossScaler: Equatable {
    public var scale: Double
    public var growthInterval: Int
    public var growthFactor: Double = 2
    public var backoffFactor: Double = 0.5
    /// Clean steps since the last change of scale.
    public var cleanSteps: Int = 0

    /// - Parameters:
    ///   - scale: initial scale (65536 in PyTorch).
    ///   - growthInterval: clean steps before the scale grows (2000 in PyTorch).
    public init(scale: Double = 65536, growthInterval: Int = 2000) {
        self.scale = scale
        self.growthInterval = growthInterval
    }

    /// Records the outcome of one step; returns true when the optimizer may step
    /// (gradients finite), false when the step must be skipped.
    public mutating func update(gradientsFinite: Bool) -> Bool {
        if !gradientsFinite {
            scale *= backoffFactor
            cleanSteps = 0
            return false
        }
        cleanSteps += 1
        if cleanSteps >= growthInterval {
            scale *= growthFactor
            cleanSteps = 0
        }
        return true
    }
}
