// The data-augmentation settings (Data/AugmentSettings.swift) of each epoch, including the
// "data augmentation warmup" of Bai et al. 2021 (ViTs-vs-CNNs) that the study used for every model but ResNet50 (REFERENCE.md section 4):
//   RandAugment magnitude m = min(e, M) with m = 1 at e = 0
//   mixup/cutmix prob 0.5, 0.6, ..., 1.0 for e = 0..5, then the recipe's prob
//     (optional original-code dip: 0.9 at e = 8 and 0.95 at e = 9)
//   cutmix alpha 0 for e < 6, then the recipe's alpha
//   switch prob 0.1, 0.2, 0.3, 0.4 for e = 6..9, then the recipe's switch prob

import Tensor

extension Recipe {
    /// The augmentation settings of epoch `e` (0-based): the recipe's values, with the
    /// augmentation warmup applied when `augWarmup` is on.
    public func augmentation(epoch e: Int) -> AugmentSettings {
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
