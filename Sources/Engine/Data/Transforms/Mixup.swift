// Mixup / CutMix in timm's batch mode and label smoothing (docs/reference.md section 4).
// With probability `prob` the whole batch is mixed with its reverse (x.flip(0)); CutMix is chosen with
// probability `switchProb` when both alphas are positive; lambda ~ Beta(alpha, alpha); the CutMix box
// has sides int(sqrt(1 - lambda) * H/W), a uniform centre, is clipped, and lambda is recomputed from
// the clipped area. Targets: lambda * smooth(y) + (1 - lambda) * smooth(y.flip(0)).
import Foundation
import Tensor

/// Mixup/CutMix settings (all settable between epochs).
public struct MixupConfig {
    public var mixupAlpha: Double
    public var cutmixAlpha: Double
    public var prob: Double
    public var switchProb: Double

    /// - Parameters:
    ///   - mixupAlpha: Beta parameter of mixup (0 turns mixup off).
    ///   - cutmixAlpha: Beta parameter of CutMix (0 turns CutMix off).
    ///   - prob: probability that a batch is mixed at all.
    ///   - switchProb: probability of CutMix instead of mixup when both are on.
    public init(mixupAlpha: Double = 0.8, cutmixAlpha: Double = 0, prob: Double = 1, switchProb: Double = 0.5) {
        self.mixupAlpha = mixupAlpha; self.cutmixAlpha = cutmixAlpha; self.prob = prob; self.switchProb = switchProb
    }

    /// Throws when a value is outside its range.
    public func validate() throws {
        guard mixupAlpha >= 0, cutmixAlpha >= 0, mixupAlpha.isFinite, cutmixAlpha.isFinite else {
            throw EngineError.invalidArgument("mixup: alphas must be >= 0, got mixup \(mixupAlpha), cutmix \(cutmixAlpha)")
        }
        guard (0...1).contains(prob), (0...1).contains(switchProb) else {
            throw EngineError.invalidArgument("mixup: prob and switch prob must be in [0, 1], got \(prob), \(switchProb)")
        }
    }
}

/// What one batch's mixing decided (drawn by `MixupDecision.draw`, or given explicitly in tests).
public struct MixupDecision: Equatable {
    /// The weight of the original batch (1: no mixing).
    public var lambda: Double
    /// The CutMix box (yl, yh, xl, xh) in pixels, nil for mixup or no mixing.
    public var box: (yl: Int, yh: Int, xl: Int, xh: Int)?

    public init(lambda: Double, box: (yl: Int, yh: Int, xl: Int, xh: Int)? = nil) {
        self.lambda = lambda; self.box = box
    }

    public static func == (a: MixupDecision, b: MixupDecision) -> Bool {
        a.lambda == b.lambda && a.box?.yl == b.box?.yl && a.box?.yh == b.box?.yh
            && a.box?.xl == b.box?.xl && a.box?.xh == b.box?.xh
    }

    /// timm's _params_per_batch followed by cutmix_bbox_and_lam (correct_lam = True).
    /// - Parameters:
    ///   - config: the mixup settings.
    ///   - height: image height.
    ///   - width: image width.
    ///   - rng: the batch's generator.
    public static func draw(_ config: MixupConfig, height: Int, width: Int, rng: RNG) -> MixupDecision {
        guard config.mixupAlpha > 0 || config.cutmixAlpha > 0 else { return MixupDecision(lambda: 1) }
        guard rng.uniformDouble() < config.prob else { return MixupDecision(lambda: 1) }
        var useCutmix = false
        var lam: Double
        if config.mixupAlpha > 0, config.cutmixAlpha > 0 {
            useCutmix = rng.uniformDouble() < config.switchProb
            let a = useCutmix ? config.cutmixAlpha : config.mixupAlpha
            lam = rng.beta(a, a)
        } else if config.mixupAlpha > 0 {
            lam = rng.beta(config.mixupAlpha, config.mixupAlpha)
        } else {
            useCutmix = true
            lam = rng.beta(config.cutmixAlpha, config.cutmixAlpha)
        }
        guard useCutmix else { return MixupDecision(lambda: lam) }
        let cy = rng.int(height), cx = rng.int(width)
        return cutmix(lambda: lam, height: height, width: width, cy: cy, cx: cx)
    }

    /// timm's rand_bbox + area correction for a given centre.
    /// - Parameters:
    ///   - lambda: the drawn lambda.
    ///   - height: image height.
    ///   - width: image width.
    ///   - cy: box centre row.
    ///   - cx: box centre column.
    public static func cutmix(lambda: Double, height: Int, width: Int, cy: Int, cx: Int) -> MixupDecision {
        let r = (1 - lambda).squareRoot()
        let ch = Int(Double(height) * r), cw = Int(Double(width) * r)
        let yl = min(max(cy - ch / 2, 0), height), yh = min(max(cy + (ch + 1) / 2, 0), height)
        let xl = min(max(cx - cw / 2, 0), width), xh = min(max(cx + (cw + 1) / 2, 0), width)
        let lam = 1 - Double((yh - yl) * (xh - xl)) / Double(height * width)
        return MixupDecision(lambda: lam, box: (yl, yh, xl, xh))
    }
}

public enum Mixing {
    /// Mixes `images` (N, C, H, W) in place with its reverse as `decision` says.
    // images: (N, C, H, W), N even
    public static func apply(_ d: MixupDecision, to images: Tensor) throws {
        let s = images.shape
        guard s.count == 4 else { throw EngineError.shape("mixup needs images (N, C, H, W), got \(s)") }
        let (n, c, h, w) = (s[0], s[1], s[2], s[3])
        guard n % 2 == 0 else {
            throw EngineError.invalidArgument("mixup/cutmix needs an even batch size, got \(n)")
        }
        guard d.lambda != 1 else { return }
        let p = images.ptr
        let per = c * h * w
        if let b = d.box {
            // x[:, :, yl:yh, xl:xh] = x.flip(0)[:, :, yl:yh, xl:xh]; pairs (i, n-1-i) swap their boxes
            for i in 0..<(n / 2) {
                let a = p + i * per, bb = p + (n - 1 - i) * per
                for ch in 0..<c { for y in b.yl..<b.yh { for x in b.xl..<b.xh {
                    let o = ch * h * w + y * w + x
                    let t = a[o]; a[o] = bb[o]; bb[o] = t
                } } }
            }
        } else {
            // x * lam + x.flip(0) * (1 - lam), computed in float32 as torch does
            let lam = Float(d.lambda), rest = Float(1 - d.lambda)
            for i in 0..<(n / 2) {
                let a = p + i * per, bb = p + (n - 1 - i) * per
                for o in 0..<per {
                    let xa = a[o], xb = bb[o]
                    a[o] = xa * lam + xb * rest
                    bb[o] = xb * lam + xa * rest
                }
            }
        }
    }

    /// Soft targets (N, classes): lambda * smooth(y) + (1 - lambda) * smooth(y.flip(0)), where
    /// smooth puts 1 - eps + eps/C on the true class and eps/C elsewhere (timm's mixup_target).
    /// - Parameters:
    ///   - labels: the hard labels of the batch (before mixing).
    ///   - classes: number of classes.
    ///   - lambda: the mixing weight (1 for no mixing: plain smoothed one-hot).
    ///   - smoothing: label smoothing eps in [0, 1).
    public static func targets(labels: [Int], classes: Int, lambda: Double, smoothing: Double) throws -> Tensor {
        guard classes >= 1 else { throw EngineError.invalidArgument("targets need at least one class") }
        guard smoothing >= 0, smoothing < 1 else {
            throw EngineError.invalidArgument("label smoothing must be in [0, 1), got \(smoothing)")
        }
        if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
            throw EngineError.invalidArgument("label \(bad) is outside 0..<\(classes)")
        }
        let n = labels.count
        try Tensor.checkSize([n, classes], "targets for \(classes) classes")
        let off = Float(smoothing / Double(classes))
        let on = Float(1 - smoothing) + off
        let t = Tensor(zeros: [n, classes])
        let p = t.ptr
        let lam = Float(lambda)
        for i in 0..<n {
            let row = p + i * classes
            let y1 = labels[i], y2 = labels[n - 1 - i]
            for k in 0..<classes {
                let a: Float = k == y1 ? on : off
                let b: Float = k == y2 ? on : off
                row[k] = a * lam + b * (1 - lam)
            }
        }
        return t
    }
}
