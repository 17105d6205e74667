// Exponential moving average of the weights (timm ModelEmaV2): after every optimizer step
//   ema <- decay * ema + (1 - decay) * weight      for every parameter and float buffer.

import Tensor

/// A moving average of a model's parameters and buffers.
public final class WeightEMA {
    public let decay: Double
    /// Averaged copies, in the order of `model.parameters() + model.buffers()`.
    public private(set) var shadow: [NamedTensor]

    /// Starts the average at the model's current weights.
    /// - Parameters:
    ///   - model: the model being trained.
    ///   - decay: weight of the old average (e.g. 0.9998).
    public init(model: Model, decay: Double) throws {
        guard decay > 0, decay < 1 else {
            throw EngineError.invalidArgument("ema: decay must be in (0, 1), got \(decay)")
        }
        self.decay = decay
        shadow = (model.parameters() + model.buffers()).map { NamedTensor($0.name, $0.tensor.copy()) }
    }

    /// Folds the model's current weights into the average.
    public func update(from model: Model) throws {
        let live = model.parameters() + model.buffers()
        guard live.count == shadow.count else {
            throw EngineError.shape("ema: model has \(live.count) tensors, average has \(shadow.count)")
        }
        let d = Float(decay), w = Float(1 - decay)
        for (s, l) in zip(shadow, live) {
            guard s.tensor.count == l.tensor.count else {
                throw EngineError.shape("ema: '\(l.name)' has shape \(l.tensor.shape), average \(s.tensor.shape)")
            }
            let sp = s.tensor.ptr, lp = l.tensor.ptr
            if l.name.hasSuffix("num_batches_tracked") {
                sp.update(from: lp, count: l.tensor.count)
                continue
            }
            for i in 0..<s.tensor.count { sp[i] = d * sp[i] + w * lp[i] }
        }
    }

    /// Copies the averaged weights into `model` (for evaluation or at the end of training).
    public func copy(into model: Model) throws {
        let live = model.parameters() + model.buffers()
        guard live.count == shadow.count else {
            throw EngineError.shape("ema: model has \(live.count) tensors, average has \(shadow.count)")
        }
        for (s, l) in zip(shadow, live) where s.tensor.count == l.tensor.count {
            l.tensor.ptr.update(from: s.tensor.ptr, count: s.tensor.count)
        }
    }

    /// Restores a saved average (checkpoint names without prefix).
    public func load(_ tensors: [String: Tensor]) throws {
        for s in shadow {
            guard let t = tensors[s.name] else { throw EngineError.io("ema state lacks '\(s.name)'") }
            guard t.count == s.tensor.count else {
                throw EngineError.shape("ema state '\(s.name)' has shape \(t.shape), expected \(s.tensor.shape)")
            }
            s.tensor.ptr.update(from: t.ptr, count: t.count)
        }
    }
}
