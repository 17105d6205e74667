// SGD with momentum, PyTorch semantics (torch.optim.SGD, dampening 0):
//   g <- g + wd * p                 (coupled L2 weight decay)
//   buf <- g (first step) | momentum * buf + g
//   g <- g + momentum * buf (nesterov) | buf
//   p <- p - lr * g

import Tensor

/// Stochastic gradient descent with momentum and optional Nesterov momentum.
public final class SGD: Optimizer {
    public let name = "sgd"
    public private(set) var groups: [ParameterGroup]
    public var stepCount = 0
    public let momentum: Double
    public let nesterov: Bool
    /// Momentum buffers by parameter name.
    var buffers: [String: Tensor] = [:]

    /// - Parameters:
    ///   - groups: parameter groups (see `ParameterGroup.split`).
    ///   - momentum: momentum factor (0.9 in the study's ResNet recipe); 0 disables momentum.
    ///   - nesterov: use Nesterov momentum (PyTorch's form).
    public init(groups: [ParameterGroup], momentum: Double = 0.9, nesterov: Bool = false) throws {
        guard momentum >= 0, momentum < 1 else {
            throw EngineError.invalidArgument("sgd: momentum must be in [0, 1), got \(momentum)")
        }
        guard !nesterov || momentum > 0 else {
            throw EngineError.invalidArgument("sgd: nesterov needs momentum > 0")
        }
        try checkUniqueNames(groups)
        self.groups = groups
        self.momentum = momentum
        self.nesterov = nesterov
    }

    public func step(lr: Double) throws {
        stepCount += 1
        let mom = Float(momentum)
        for g in groups {
            let negLr = Float(-(lr * g.lrScale))
            let wd = Float(g.weightDecay)
            for p in g.parameters {
                guard let grad = p.tensor.grad else { continue }
                guard grad.count == p.tensor.count else {
                    throw EngineError.shape("sgd: gradient of '\(p.name)' has shape \(grad.shape), parameter \(p.tensor.shape)")
                }
                let n = p.tensor.count
                let pp = p.tensor.ptr, gp = grad.ptr
                // Elementwise, so splitting over the threads changes no value.
                if momentum == 0 {
                    Parallel.forEach(n, minChunk: 1 << 15) { r in
                        for i in r { pp[i] = pp[i] + negLr * (gp[i] + wd * pp[i]) }
                    }
                    continue
                }
                let first = buffers[p.name] == nil
                let buf = buffers[p.name] ?? Tensor(zeros: p.tensor.shape)
                buffers[p.name] = buf
                let bp = buf.ptr
                let nest = nesterov
                Parallel.forEach(n, minChunk: 1 << 15) { r in
                    for i in r {
                        let d = wd != 0 ? gp[i] + wd * pp[i] : gp[i]
                        bp[i] = first ? d : bp[i] * mom + d
                        let u = nest ? d + mom * bp[i] : bp[i]
                        pp[i] = pp[i] + negLr * u
                    }
                }
            }
        }
    }

    public func stateTensors() -> [NamedTensor] {
        allParameters.compactMap { p in buffers[p.name].map { NamedTensor("momentum_buffer.\(p.name)", $0) } }
    }

    public func loadState(_ tensors: [String: Tensor]) throws {
        buffers = [:]
        for p in allParameters {
            if let b = try restoreSlot(tensors, "momentum_buffer.\(p.name)", like: p.tensor) { buffers[p.name] = b }
        }
    }
}
