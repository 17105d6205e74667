// Puts a model into the state an attack needs and restores it afterwards:
// evaluation mode (BatchNorm running statistics, no drop path), parameters frozen (no weight
// gradients are computed or accumulated while the attack differentiates w.r.t. the input),
// and autograd switched on (attacks may be called from inside `Autograd.noGrad`).

import Tensor

public enum AttackMode {
    /// Runs `body` with `model` in evaluation mode, parameters not requiring grad and autograd
    /// enabled; restores the previous training flag, requiresGrad flags and autograd switch
    /// afterwards, also when `body` throws.
    /// - Parameters:
    ///   - model: the model under attack.
    ///   - body: the attack.
    public static func evaluating<T>(_ model: Model, _ body: () throws -> T) rethrows -> T {
        let wasTraining = model.isTraining
        let params = model.parameters().map(\.tensor)
        let flags = params.map(\.requiresGrad)
        let gradEnabled = Autograd.isEnabled
        model.isTraining = false
        for p in params { p.requiresGrad = false }
        Autograd.isEnabled = true
        defer {
            model.isTraining = wasTraining
            for (p, f) in zip(params, flags) { p.requiresGrad = f }
            Autograd.isEnabled = gradEnabled
        }
        return try body()
    }
}
