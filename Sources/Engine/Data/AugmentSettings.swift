// The augmentation settings of one epoch: what the training recipe asks of a batch source
// (`BatchSource.configure`). Training computes them per epoch (Training/AugmentWarmup.swift);
// the data pipeline applies them (TrainPipeline.swift).

import Tensor

/// The augmentation parameters of one epoch, handed to the data pipeline.
public struct AugmentSettings: Equatable, CustomStringConvertible {
    /// RandAugment magnitude M (nil: no RandAugment).
    public var randAugmentMagnitude: Double?
    /// Standard deviation of the per-op magnitude noise (timm "mstd").
    public var randAugmentStd: Double
    /// Operations per image (timm "n", 2).
    public var randAugmentOps: Int
    /// Mixup Beta(alpha, alpha) parameter (0: off).
    public var mixupAlpha: Double
    /// CutMix Beta(alpha, alpha) parameter (0: off).
    public var cutmixAlpha: Double
    /// Probability that a batch is mixed at all.
    public var mixProb: Double
    /// Probability of CutMix rather than mixup when both are on.
    public var switchProb: Double
    /// Label smoothing folded into mixed targets.
    public var labelSmoothing: Double
    /// Random erasing probability.
    public var randomErasing: Double

    public init(randAugmentMagnitude: Double? = nil, randAugmentStd: Double = 0.5, randAugmentOps: Int = 2,
                mixupAlpha: Double = 0, cutmixAlpha: Double = 0, mixProb: Double = 1, switchProb: Double = 0.5,
                labelSmoothing: Double = 0, randomErasing: Double = 0) {
        self.randAugmentMagnitude = randAugmentMagnitude
        self.randAugmentStd = randAugmentStd
        self.randAugmentOps = randAugmentOps
        self.mixupAlpha = mixupAlpha
        self.cutmixAlpha = cutmixAlpha
        self.mixProb = mixProb
        self.switchProb = switchProb
        self.labelSmoothing = labelSmoothing
        self.randomErasing = randomErasing
    }

    /// True when batches may be mixed (mixup or CutMix with a positive probability).
    public var mixes: Bool { (mixupAlpha > 0 || cutmixAlpha > 0) && mixProb > 0 }

    public var description: String {
        let ra = randAugmentMagnitude.map { "m\(fmt($0))-mstd\(fmt(randAugmentStd))" } ?? "off"
        return "randaugment \(ra), mixup \(fmt(mixupAlpha)), cutmix \(fmt(cutmixAlpha)), prob \(fmt(mixProb)), switch \(fmt(switchProb))"
    }
}

/// A number in its shortest readable form: 9 -> "9", 0.5 -> "0.5", 2.5e-07 -> "2.5e-7".
func fmt(_ x: Double) -> String {
    if x == x.rounded() && abs(x) < 1e15 { return String(Int(x)) }
    if abs(x) >= 1e-3 { return "\(x)" }
    var s = "\(x)"                      // Swift prints 2.5e-07
    if let r = s.range(of: "e-0") { s.replaceSubrange(r, with: "e-") }
    return s
}
