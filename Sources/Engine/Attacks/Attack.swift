// The attack interface: an attack turns clean images into adversarial ones for a model.
// All attacks work in pixel space (images in [0, 1]); eps and step sizes are pixel units.

import Tensor

/// The threat model's norm.
public enum AttackNorm: String, CaseIterable {
    case linf, l2
}

/// The loss an attack ascends: cross entropy or AutoAttack's difference-of-logits ratio.
public enum AttackLossKind: String, CaseIterable {
    case ce, dlr
}

/// What the attack tries to achieve for each example.
///
/// Untargeted (the default): make the prediction differ from `labels`; the loss is cross
/// entropy with `labels` (or with `softTargets` when given, e.g. mixup targets in training).
/// Targeted (`targetLabels` set): make the prediction equal the target; the loss is the
/// negated cross entropy with the target.
public struct AttackGoal {
    /// True labels (N).
    public var labels: [Int]
    /// Soft targets (N, classes) for the loss, or nil for one-hot labels.
    public var softTargets: Tensor?
    /// Target classes (N) for a targeted attack, or nil.
    public var targetLabels: [Int]?
    /// Whether the caller reads `AttackResult.fooled`. `perturb` (adversarial training, attacks
    /// called from a script) only wants the images: then an attack whose result does not depend
    /// on success (one restart of PGD, FGSM) skips the forward pass that only decides it, and
    /// returns `fooled` empty. Restarts and `worst_of` always decide success.
    public var needsOutcome = true
    /// Classes the loss aims at while success stays untargeted (AutoAttack's APGD-T: the
    /// targeted DLR loss towards `lossTargets[i]`, success = any misclassification), or nil.
    public var lossTargets: [Int]? = nil
    /// One generator per image for the random start (PGD), or nil to draw the whole batch from
    /// the attack's `rng`. Adversarial training keys them by (seed, epoch, image position), so a
    /// batch split over processes starts each image where one process would (docs/distributed.md).
    public var imageRNGs: [RNG]? = nil

    /// - Parameters:
    ///   - labels: true class of each image.
    ///   - softTargets: optional (N, classes) soft targets used by the loss instead of `labels`.
    ///   - targetLabels: optional target class of each image (targeted attack).
    public init(labels: [Int], softTargets: Tensor? = nil, targetLabels: [Int]? = nil) {
        self.labels = labels
        self.softTargets = softTargets
        self.targetLabels = targetLabels
    }

    /// Number of examples.
    public var count: Int { labels.count }

    /// True when the prediction `pred` for example `i` counts as a success of the attack.
    @inlinable public func isSuccess(_ i: Int, prediction pred: Int) -> Bool {
        if let t = targetLabels { return pred == t[i] }
        return pred != labels[i]
    }

    /// The goal restricted to the examples `idx` (in that order).
    public func subset(_ idx: [Int]) throws -> AttackGoal {
        var g = AttackGoal(labels: idx.map { labels[$0] },
                           softTargets: try softTargets.map { try AttackOps.rows($0, idx) },
                           targetLabels: targetLabels.map { t in idx.map { t[$0] } })
        g.lossTargets = lossTargets.map { t in idx.map { t[$0] } }
        g.imageRNGs = imageRNGs.map { r in idx.map { r[$0] } }
        return g
    }

    /// The goal of `k` copies of the batch stacked along the batch axis (restarts run as one batch).
    public func repeated(_ k: Int) throws -> AttackGoal {
        var g = AttackGoal(labels: Array([[Int]](repeating: labels, count: k).joined()),
                           softTargets: try softTargets.map { try Tensor.concatRows([Tensor](repeating: $0, count: k)) },
                           targetLabels: targetLabels.map { t in Array([[Int]](repeating: t, count: k).joined()) })
        g.lossTargets = lossTargets.map { t in Array([[Int]](repeating: t, count: k).joined()) }
        g.imageRNGs = imageRNGs.map { r in Array([[RNG]](repeating: r, count: k).joined()) }
        return g
    }

    /// Checks the goal against a batch of `n` examples and `classes` logits.
    func validate(n: Int, classes: Int, attack: String) throws {
        guard labels.count == n else {
            throw EngineError.shape("\(attack): \(labels.count) labels for \(n) images")
        }
        for (i, y) in labels.enumerated() where y < 0 || y >= classes {
            throw EngineError.invalidArgument("\(attack): label \(y) of image \(i) is outside 0..<\(classes)")
        }
        if let t = targetLabels {
            guard t.count == n else { throw EngineError.shape("\(attack): \(t.count) targets for \(n) images") }
            for (i, y) in t.enumerated() where y < 0 || y >= classes {
                throw EngineError.invalidArgument("\(attack): target \(y) of image \(i) is outside 0..<\(classes)")
            }
        }
        if let s = softTargets, s.shape != [n, classes] {
            throw EngineError.shape("\(attack): soft targets have shape \(s.shape), expected \([n, classes])")
        }
    }
}

/// The outcome of an attack on a batch.
public struct AttackResult {
    /// Adversarial images, same shape as the input, within the eps-ball and [0, 1].
    public var adversarial: Tensor
    /// Per example: true when the attack succeeded (misclassified, or hit the target); empty
    /// when the goal did not ask for it (`AttackGoal.needsOutcome`) and the attack skipped it.
    public var fooled: [Bool]
    /// Per example, the name of the member that broke it (ensembles: WorstOf, AutoAttack), or
    /// nil when the attack does not say.
    public var brokenBy: [String]? = nil
    public init(adversarial: Tensor, fooled: [Bool]) {
        self.adversarial = adversarial
        self.fooled = fooled
    }
}

/// An adversarial attack. Conformers implement `attack(...)`, which may assume the model is
/// already in evaluation mode with frozen parameters; callers use `run` or `perturb`, which
/// arrange that and restore the model afterwards (even when the attack throws).
public protocol Attack: AnyObject, CustomStringConvertible {
    /// Short name used in tables, e.g. "PGD-5", "FGSM", "APGD-CE-100".
    var name: String { get }
    /// Radius of the threat model in pixel units.
    var eps: Float { get }
    /// The threat model's norm (default L-inf); outputs are checked against this ball.
    var norm: AttackNorm { get }
    /// Iterations (nil for one-shot attacks); the sanity checks double it.
    var steps: Int? { get }
    /// The same attack with another radius (steps scale with eps where the attack defines one).
    func with(eps: Float) -> Attack
    /// The same attack with another number of iterations (nil when not iterative).
    func with(steps: Int) -> Attack?
    /// The attack proper on a batch `x: (N, C, H, W)`; the model is in evaluation mode.
    func attack(_ model: Model, _ x: Tensor, goal: AttackGoal, rng: RNG) throws -> AttackResult
}

extension Attack {
    /// L-inf unless the attack says otherwise.
    public var norm: AttackNorm { .linf }

    /// Runs the attack with the model in evaluation mode and its parameters frozen; restores
    /// the previous mode afterwards, also on error. The output is checked: an image outside
    /// [0, 1] or outside the attack's eps-ball is an error naming the attack and the largest
    /// violation (`AttackOps.checkOutput`), never a number.
    /// - Parameters:
    ///   - model: the classifier under attack.
    ///   - x: clean images (N, C, H, W) in [0, 1].
    ///   - goal: labels, optional soft targets or target classes.
    ///   - rng: the only source of randomness (random starts).
    public func run(_ model: Model, _ x: Tensor, goal: AttackGoal, rng: RNG) throws -> AttackResult {
        try AttackOps.checkImages(x, model: model, attack: name)
        try goal.validate(n: x.shape[0], classes: model.classes, attack: name)
        if x.shape[0] == 0 { return AttackResult(adversarial: x.copy(), fooled: []) }
        let r = try AttackMode.evaluating(model) {
            try attack(model, x, goal: goal, rng: rng)
        }
        try AttackOps.checkOutput(r.adversarial, clean: x, eps: eps, norm: norm, attack: name)
        return r
    }

    /// Adversarial images for `x` (the tensor only; see `run` for the success flags).
    /// - Parameters:
    ///   - model: the classifier under attack.
    ///   - x: clean images (N, C, H, W) in [0, 1].
    ///   - labels: true classes.
    ///   - targets: optional soft targets (N, classes) for the loss (mixup).
    ///   - target: optional target classes for a targeted attack.
    ///   - rng: the only source of randomness (besides `imageRNGs`).
    ///   - imageRNGs: optional generator of each image's random start (`AttackGoal.imageRNGs`).
    public func perturb(_ model: Model, _ x: Tensor, labels: [Int], targets: Tensor? = nil,
                        target: [Int]? = nil, rng: RNG, imageRNGs: [RNG]? = nil) throws -> Tensor {
        var goal = AttackGoal(labels: labels, softTargets: targets, targetLabels: target)
        goal.needsOutcome = false
        goal.imageRNGs = imageRNGs
        return try run(model, x, goal: goal, rng: rng).adversarial
    }
}
