// The data-augmentation settings (Data/AugmentSettings.swift) of each epoch, including the
// "data augmentation warmup" of Bai et al. 2021 (ViTs-vs-CNNs) that the study used for every model
// but ResNet50 (docs/reference.md section 4):
//   RandAugment magnitude m = min(e, M) with m = 1 at e = 0
//   mixup/cutmix prob 0.5, 0.6, ..., 1.0 for e = 0..5, then the recipe's prob
//     (optional original-code dip: 0.9 at e = 8 and 0.95 at e = 9)
//   cutmix alpha 0 for e < 6, then the recipe's alpha
//   switch prob 0.1, 0.2, 0.3, 0.4 for e = 6..9, then the recipe's switch prob
// where e counts the table's epochs. A recipe scaled to a shorter run (`Recipe.scaled`,
// docs/reference.md section 6) compresses this schedule by `augWarmupScale` = run epochs / table
// epochs: at run position p (epochs, fractional within an epoch) the table epoch is
// floor(p / augWarmupScale), so a 3-epoch run passes m1..m9, the mixing ramp and CutMix in its
// first 0.1 epoch, and `fit` changes the settings batch by batch (docs/training.md).

import Tensor

extension AugmentSettings {
    /// Table epochs after which the augmentation warmup has reached the recipe's values (10:
    /// the switch-probability ramp ends at e = 9, the optional dip too).
    public static let warmupEpochs = 10
}

extension Recipe {
    /// The augmentation settings of epoch `e` (0-based) of this run: the recipe's values, with the
    /// augmentation warmup applied when `augWarmup` is on (compressed by `augWarmupScale`).
    public func augmentation(epoch e: Int) -> AugmentSettings {
        augmentation(position: Double(e))
    }

    /// The table epoch (the warmup's clock) at run position `p` in epochs: floor(p / augWarmupScale).
    public func warmupEpoch(position p: Double) -> Int {
        let t = (p / augWarmupScale * (1 + 1e-12)).rounded(.down)
        return t >= 1e9 ? 1_000_000_000 : Int(Swift.max(0, t))
    }

    /// True when the augmentation changes inside an epoch of this run (the warmup is compressed
    /// below one table epoch per run epoch and has not finished by the start of `epoch`).
    public func augmentationVariesWithin(epoch: Int) -> Bool {
        augWarmup && augWarmupScale < 1 && warmupEpoch(position: Double(epoch)) < AugmentSettings.warmupEpochs
    }

    /// The augmentation settings at run position `p` (epochs since the start, fractional within an
    /// epoch): the recipe's values with the warmup of table epoch `warmupEpoch(position: p)`.
    public func augmentation(position p: Double) -> AugmentSettings {
        let e = warmupEpoch(position: p)
        var s = AugmentSettings(randAugmentMagnitude: randAugment?.magnitude,
                                randAugmentStd: randAugment?.std ?? 0.5,
                                randAugmentOps: randAugment?.ops ?? 2,
                                mixupAlpha: mixup, cutmixAlpha: cutmix, mixProb: mixProb,
                                switchProb: switchProb, labelSmoothing: labelSmoothing,
                                randomErasing: randomErasing)
        guard augWarmup else { return s }
        if let m = s.randAugmentMagnitude { s.randAugmentMagnitude = e == 0 ? min(1, m) : min(Double(e), m) }
        if e <= 5 {
            s.mixProb = min(mixProb, [0.5, 0.6, 0.7, 0.8, 0.9, 1.0][max(e, 0)])
        } else if augWarmupDip && (e == 8 || e == 9) {
            s.mixProb = min(mixProb, e == 8 ? 0.9 : 0.95)
        }
        if e < 6 { s.cutmixAlpha = 0 }
        if e >= 6 && e <= 9 { s.switchProb = min(switchProb, [0.1, 0.2, 0.3, 0.4][e - 6]) }
        return s
    }
}
