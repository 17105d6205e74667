// RandAugment exactly as timm's "rand-mM-mstdS-inc1" (docs/reference.md section 4): `ops` operations per
// image drawn uniformly with replacement from the 15 "increasing" ops; each is applied with
// probability `prob`; its magnitude ~ N(M, std) clipped to [0, 10]; level -> argument as timm's
// _*_level_to_arg with a random sign (p = 0.5) where timm negates. The image ops are Pillow's.
import Foundation
import Tensor

/// The 15 operations of timm's _RAND_INCREASING_TRANSFORMS, in timm's order.
public enum RandAugmentOp: String, CaseIterable {
    case autoContrast = "AutoContrast", equalize = "Equalize", invert = "Invert", rotate = "Rotate"
    case posterize = "PosterizeIncreasing", solarize = "SolarizeIncreasing", solarizeAdd = "SolarizeAdd"
    case color = "ColorIncreasing", contrast = "ContrastIncreasing", brightness = "BrightnessIncreasing"
    case sharpness = "SharpnessIncreasing", shearX = "ShearX", shearY = "ShearY"
    case translateX = "TranslateXRel", translateY = "TranslateYRel"

    /// Whether timm's level function draws a random sign for this op.
    public var signed: Bool {
        switch self {
        case .rotate, .color, .contrast, .brightness, .sharpness, .shearX, .shearY, .translateX, .translateY: return true
        default: return false
        }
    }

    /// timm's level -> argument for magnitude `m` in [0, 10] and sign (`negate` flips it).
    /// - Parameters:
    ///   - m: the (already clipped) magnitude.
    ///   - negate: the random sign draw (timm: random() > 0.5 negates).
    ///   - translatePct: timm's translate_pct hparam (0.45).
    public func argument(_ m: Double, negate: Bool, translatePct: Double = 0.45) -> Double {
        let s: Double = negate ? -1 : 1
        switch self {
        case .autoContrast, .equalize, .invert: return 0
        case .rotate: return s * (m / 10) * 30
        case .posterize: return Double(4 - Int((m / 10) * 4))
        case .solarize: return Double(256 - Int((m / 10) * 256))
        case .solarizeAdd: return Double(min(128, Int((m / 10) * 110)))
        case .color, .contrast, .brightness, .sharpness: return max(0.1, 1 + s * (m / 10) * 0.9)
        case .shearX, .shearY: return s * (m / 10) * 0.3
        case .translateX, .translateY: return s * (m / 10) * translatePct
        }
    }

    /// Applies the op with its argument (as timm's aug functions call Pillow).
    /// - Parameters:
    ///   - img: the 8-bit image.
    ///   - arg: from `argument`.
    ///   - filter: resampling filter of the geometric ops.
    ///   - fill: fill colour of the geometric ops.
    public func apply(_ img: PixelImage, arg: Double, filter: ResampleFilter, fill: [UInt8]) -> PixelImage {
        switch self {
        case .autoContrast: return img.autocontrast()
        case .equalize: return img.equalize()
        case .invert: return img.inverted()
        case .rotate: return img.rotated(degrees: arg, filter: filter, fill: fill)
        case .posterize: return img.posterized(bits: Int(arg))
        case .solarize: return img.solarized(threshold: Int(arg))
        case .solarizeAdd: return img.solarizeAdded(Int(arg))
        case .color: return img.colorEnhanced(arg)
        case .contrast: return img.contrastEnhanced(arg)
        case .brightness: return img.brightnessEnhanced(arg)
        case .sharpness: return img.sharpnessEnhanced(arg)
        case .shearX: return img.affine([1, arg, 0, 0, 1, 0], filter: filter, fill: fill)
        case .shearY: return img.affine([1, 0, 0, arg, 1, 0], filter: filter, fill: fill)
        case .translateX: return img.affine([1, 0, arg * Double(img.width), 0, 1, 0], filter: filter, fill: fill)
        case .translateY: return img.affine([1, 0, 0, 0, 1, arg * Double(img.height)], filter: filter, fill: fill)
        }
    }
}

/// RandAugment settings; `magnitude` is meant to change per epoch (augmentation warmup).
public struct RandAugmentConfig {
    public var magnitude: Double
    public var std: Double
    public var ops: Int
    public var prob: Double
    public var translatePct: Double
    /// Resampling of Rotate/Shear/Translate (timm's `interpolation` hparam; ConvNeXt: bicubic).
    public var filter: ResampleFilter
    /// Fill colour of the geometric ops, per channel (timm: the rounded ImageNet mean, 124 116 104).
    public var fill: [UInt8]

    /// - Parameters:
    ///   - magnitude: M in [0, 10].
    ///   - std: magnitude noise (timm mstd; 0 = fixed magnitude).
    ///   - ops: operations per image (timm n, default 2).
    ///   - prob: probability of applying each chosen op (0.5).
    ///   - translatePct: largest translation as a fraction of the size (0.45).
    ///   - filter: resampling filter of the geometric ops.
    ///   - fill: fill colour (one value per channel; a single value is used for all).
    public init(magnitude: Double = 9, std: Double = 0.5, ops: Int = 2, prob: Double = 0.5,
                translatePct: Double = 0.45, filter: ResampleFilter = .bicubic, fill: [UInt8] = [124, 116, 104]) {
        self.magnitude = magnitude; self.std = std; self.ops = ops; self.prob = prob
        self.translatePct = translatePct; self.filter = filter; self.fill = fill
    }

    public func validate() throws {
        guard magnitude >= 0, magnitude <= 30, magnitude.isFinite else {
            throw EngineError.invalidArgument("randaugment: magnitude must be in [0, 30], got \(magnitude)")
        }
        guard std >= 0, std.isFinite else { throw EngineError.invalidArgument("randaugment: std must be >= 0, got \(std)") }
        guard ops >= 0, ops <= 16 else { throw EngineError.invalidArgument("randaugment: ops must be in 0...16, got \(ops)") }
        guard (0...1).contains(prob) else { throw EngineError.invalidArgument("randaugment: prob must be in [0, 1], got \(prob)") }
        guard !fill.isEmpty else { throw EngineError.invalidArgument("randaugment: fill needs at least one value") }
    }

    /// Fill colour for an image with `channels` channels (gray images take the first value).
    func fill(channels: Int) -> [UInt8] {
        channels == fill.count ? fill : [UInt8](repeating: fill[0], count: channels)
    }

    /// One random choice of one op (for logging and tests).
    public struct Step: Equatable {
        public var op: RandAugmentOp
        public var applied: Bool
        public var magnitude: Double
        public var negate: Bool
    }

    /// Draws the op sequence for one image: op, apply?, magnitude, sign (timm's order of draws).
    public func draw(rng: RNG) -> [Step] {
        let all = RandAugmentOp.allCases
        let chosen = (0..<ops).map { _ in all[rng.int(all.count)] }
        return chosen.map { op in
            let applied = prob >= 1 || rng.uniformDouble() <= prob
            guard applied else { return Step(op: op, applied: false, magnitude: 0, negate: false) }
            var m = magnitude
            if std > 0 { m = magnitude + std * Double(rng.normal()) }
            m = max(0, min(m, 10))
            let negate = op.signed ? rng.uniformDouble() > 0.5 : false
            return Step(op: op, applied: true, magnitude: m, negate: negate)
        }
    }

    /// Applies drawn steps to an image.
    public func apply(_ steps: [Step], to img: PixelImage) -> PixelImage {
        var out = img
        let f = fill(channels: img.channels)
        for s in steps where s.applied {
            out = s.op.apply(out, arg: s.op.argument(s.magnitude, negate: s.negate, translatePct: translatePct),
                             filter: filter, fill: f)
        }
        return out
    }

    /// Draws and applies RandAugment to one image.
    public func apply(_ img: PixelImage, rng: RNG) -> PixelImage {
        apply(draw(rng: rng), to: img)
    }
}
