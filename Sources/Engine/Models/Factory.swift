// Building models by name with options, and the parameter-budget search (`params: N`).
import Foundation
import Tensor

/// The options of `model(name, ...)`; nil means "the family default".
public struct ModelOptions {
    public var image: Int?, channels: Int?, classes: Int?
    public var patch: Int?, window: Int?
    public var depths: [Int]?, dims: [Int]?, width: Double?, heads: [Int]?
    public var dropPath: Double?
    public var mean: [Float]?, std: [Float]?
    public var act: String?, stem: Int?
    /// Parameter budget: widths are scaled so the count lands within 3% of it.
    public var params: Double?
    /// Token-grid parity with the study at small images (DeiT patch, Swin window; GridParity.swift).
    public var parity = false
    public init() {}
}

public enum Models {
    /// Allowed relative distance of a budget model's parameter count from the budget.
    public static let budgetTolerance = 0.03

    /// A model by family name and options, initialised from `rng` (timm's initialisation rules).
    public static func make(_ name: String, _ o: ModelOptions = ModelOptions(), rng: RNG = RNG.global) throws -> Network {
        try build(configure(name, o), rng: rng)
    }

    /// A model from a complete configuration.
    public static func build(_ c: ModelConfig, rng: RNG = RNG.global) throws -> Network {
        try c.validate()
        warnSmallGrid(c)
        let n = construct(c, dry: true, rng: rng).store.paramCount
        guard n <= maxParams else {
            throw EngineError.invalidArgument("model \(c.name): \(n) parameters (\(n * 4 / (1 << 20)) MiB) exceeds the limit of \(maxParams / 1_000_000)M parameters; reduce dims, depths or params")
        }
        return construct(c, dry: false, rng: rng)
    }

    /// The largest model `build` allocates (4 GB of weights, before gradients and optimizer state).
    public static let maxParams = 1_000_000_000

    static func construct(_ c: ModelConfig, dry: Bool, rng: RNG) -> Network {
        switch c.arch {
        case .convnext: return ConvNeXt(c, dry: dry, rng: rng)
        case .swin: return Swin(c, dry: dry, rng: rng)
        case .poolformer: return PoolFormer(c, dry: dry, rng: rng)
        case .deit: return DeiT(c, dry: dry, rng: rng)
        case .resnet: return ResNet(c, dry: dry, rng: rng)
        }
    }

    /// Parameter count of a configuration without allocating it.
    public static func countParams(_ c: ModelConfig) throws -> Int {
        try c.validate()
        return construct(c, dry: true, rng: RNG(seed: 0)).store.paramCount
    }

    /// The family default with the options applied (and the budget search when `params` is set).
    public static func configure(_ name: String, _ o: ModelOptions) throws -> ModelConfig {
        var c = try ModelConfig.named(name)
        func bad(_ m: String) -> EngineError { EngineError.invalidArgument("model \(name): \(m)") }
        try checkRanges(o, bad)
        if let v = o.image { c.image = v }
        if let v = o.channels {
            // Checked before the per-channel normalisation arrays are sized from it.
            guard (1...64).contains(v) else { throw bad("channels must be 1...64, got \(v)") }
            c.channels = v
            (c.mean, c.std) = ModelConfig.defaultNormalisation(channels: v)
        }
        if let v = o.classes { c.classes = v }
        if let v = o.mean { c.mean = v.count == 1 ? [Float](repeating: v[0], count: c.channels) : v }
        if let v = o.std { c.std = v.count == 1 ? [Float](repeating: v[0], count: c.channels) : v }
        if let v = o.patch {
            guard [.convnext, .swin, .deit].contains(c.arch) else {
                throw bad("patch: applies to convnext, swin and deit, not \(c.arch.rawValue)")
            }
            c.patch = v
        }
        if let v = o.window {
            guard c.arch == .swin else { throw bad("window: applies to swin only") }
            c.window = v
        }
        if o.parity {
            // Given patch/window win; parity fills in the others before the budget search.
            let p = c.withGridParity()
            if o.patch == nil { c.patch = p.patch }
            if o.window == nil { c.window = p.window }
        }
        if let v = o.act {
            guard c.arch == .resnet else { throw bad("act: applies to resnet only") }
            c.act = v
        }
        if let v = o.stem {
            guard c.arch == .resnet else { throw bad("stem: applies to resnet only") }
            c.stem = v
        }
        if let v = o.dropPath { c.dropPath = v }
        let stagesBefore = c.dims.count
        if let v = o.depths {
            c.depths = v
            if c.arch != .deit, v.count != stagesBefore, o.dims == nil {
                // fewer/more stages: keep the doubling rule from the first width
                c.dims = (0..<v.count).map { c.dims[0] << $0 }
                if c.arch == .swin, o.heads == nil { c.heads = (0..<v.count).map { c.heads[0] << $0 } }
            }
        }
        if let v = o.heads {
            c.heads = c.arch == .swin && v.count == 1 ? (0..<c.dims.count).map { v[0] << $0 } : v
        }
        let given = [o.dims != nil, o.width != nil, o.params != nil].filter { $0 }.count
        guard given <= 1 else { throw bad("give at most one of dims:, width: and params:") }
        if let v = o.dims {
            c.dims = c.arch == .swin && v.count == 1 ? (0..<c.depths.count).map { v[0] << $0 } : v
        }
        if let w = o.width {
            guard w > 0, w <= 64 else { throw bad("width must be in (0, 64], got \(w)") }
            c = scaled(c, w: w, quantum: 1, keepHeads: true)
        }
        if let n = o.params {
            guard n >= 1000, n <= Double(maxParams) else { throw bad("params must be between 1e3 and \(maxParams), got \(n)") }
            c = try fitBudget(c, params: Int(n.rounded()), userHeads: o.heads != nil)
        }
        try c.validate()
        return c
    }

    /// Checks every option's range before anything is derived from it (a zero head count or a
    /// huge window would otherwise divide by zero or allocate without bound while the widths are
    /// fitted to a parameter budget); `ModelConfig.validate` checks how they fit together.
    static func checkRanges(_ o: ModelOptions, _ bad: (String) -> EngineError) throws {
        func each(_ v: [Int]?, _ what: String, _ r: ClosedRange<Int>) throws {
            guard let v = v else { return }
            guard !v.isEmpty, v.count <= 64 else { throw bad("\(what) needs 1 to 64 values, got \(v.count)") }
            guard v.allSatisfy({ r.contains($0) }) else { throw bad("\(what) must be \(r.lowerBound)...\(r.upperBound) each, got \(v)") }
        }
        try each(o.heads, "heads", 1...4096)
        try each(o.depths, "depths", 1...200)
        try each(o.dims, "dims", 1...16384)
        if let v = o.image, !(8...4096).contains(v) { throw bad("image must be 8...4096 pixels, got \(v)") }
        if let v = o.classes, !(1...100_000).contains(v) { throw bad("classes must be 1...100000, got \(v)") }
        if let v = o.patch, !(1...4096).contains(v) { throw bad("patch must be 1...4096, got \(v)") }
        if let v = o.window, !(1...4096).contains(v) { throw bad("window must be 1...4096, got \(v)") }
        if let v = o.stem, !(1...16384).contains(v) { throw bad("stem must be 1...16384, got \(v)") }
        if let v = o.dropPath, !(v >= 0 && v < 1) { throw bad("drop_path must be in [0, 1), got \(v)") }
        if let v = o.mean, v.isEmpty || v.count > 64 || !v.allSatisfy({ $0.isFinite }) { throw bad("mean needs 1 to 64 finite values") }
        if let v = o.std, v.isEmpty || v.count > 64 || !v.allSatisfy({ $0.isFinite && $0 > 0 }) { throw bad("std needs 1 to 64 positive values") }
    }

    /// Widths multiplied by `w` and rounded to multiples of `quantum` (and of the heads, when kept).
    /// Without kept heads, Swin/DeiT heads follow the width at the family's head size.
    static func scaled(_ base: ModelConfig, w: Double, quantum q: Int, keepHeads: Bool) -> ModelConfig {
        var c = base
        func round(_ x: Double, _ m: Int) -> Int { Swift.max(m, Int((x / Double(m)).rounded()) * m) }
        switch c.arch {
        case .swin, .deit:
            var dims: [Int] = [], heads: [Int] = []
            for (d, h) in zip(base.dims, base.heads) {
                if keepHeads {
                    let m = lcm(q, h)
                    dims.append(round(Double(d) * w, m))
                    heads.append(h)
                } else {
                    let nd = round(Double(d) * w, q)
                    let headDim = Double(d) / Double(h)
                    dims.append(nd)
                    heads.append(nearestDivisor(nd, to: Swift.max(1, Double(nd) / headDim)))
                }
            }
            c.dims = dims
            c.heads = heads
        case .resnet:
            c.dims = base.dims.map { round(Double($0) * w, q) }
            c.stem = round(Double(base.stem) * w, q)
        case .convnext, .poolformer:
            c.dims = base.dims.map { round(Double($0) * w, q) }
            if c.arch == .poolformer {  // keep widths strictly increasing so every stage downsamples
                for i in 1..<c.dims.count where c.dims[i] <= c.dims[i - 1] { c.dims[i] = c.dims[i - 1] + q }
            }
        }
        return c
    }

    static func lcm(_ a: Int, _ b: Int) -> Int {
        func gcd(_ x: Int, _ y: Int) -> Int { y == 0 ? x : gcd(y, x % y) }
        return a / gcd(a, b) * b
    }

    /// The divisor of n closest to `target` (ties: the smaller one).
    static func nearestDivisor(_ n: Int, to target: Double) -> Int {
        var best = 1
        for d in 1...Swift.max(n, 1) where n % d == 0 && abs(Double(d) - target) < abs(Double(best) - target) { best = d }
        return best
    }

    /// Scales the widths of `base` so the parameter count is as close as possible to `n`, preferring
    /// coarse rounding (multiples of 8, then 4, 2, 1) when it is within 1%; throws when nothing is
    /// within `budgetTolerance`.
    public static func fitBudget(_ base: ModelConfig, params n: Int, userHeads: Bool) throws -> ModelConfig {
        var best: (ModelConfig, Int)?
        func consider(_ c: ModelConfig) -> Int? {
            guard (try? c.validate()) != nil else { return nil }
            let p = construct(c, dry: true, rng: RNG(seed: 0)).store.paramCount
            if best == nil || abs(p - n) < abs(best!.1 - n) { best = (c, p) }
            return p
        }
        for q in [8, 4, 2, 1] {
            // bracket the multiplier by bisection on a log scale (the count grows with w)
            var lo = 1e-3, hi = 64.0
            for _ in 0..<40 {
                let mid = (lo * hi).squareRoot()
                let p = consider(scaled(base, w: mid, quantum: q, keepHeads: userHeads)) ?? 0
                if p < n { lo = mid } else { hi = mid }
                if hi / lo < 1.001 { break }
            }
            // then scan the neighbourhood, where per-stage rounding makes the count jump
            let a = lo / 1.25, steps = 160
            for i in 0...steps {
                let w = a * pow(1.25 * 1.25, Double(i) / Double(steps))
                _ = consider(scaled(base, w: w, quantum: q, keepHeads: userHeads))
            }
            if let b = best, abs(Double(b.1 - n)) <= 0.01 * Double(n) { return b.0 }
        }
        guard let b = best, abs(Double(b.1 - n)) <= budgetTolerance * Double(n) else {
            // No width gave a valid model at all: the cause is elsewhere (e.g. an image too small
            // for the architecture), and the unscaled configuration's own error says what it is.
            if best == nil { try base.validate() }
            let got = best.map { " (closest: \($0.1) parameters with dims \($0.0.dims))" } ?? ""
            throw EngineError.invalidArgument("model \(base.name): cannot reach \(n) parameters within 3% by scaling the widths\(got); adjust depths: or heads:")
        }
        return b.0
    }
}

extension Models {
    /// A configuration from the JSON that `saveWeights` stores (and the fixtures carry), in
    /// `model()` option names: {"model": "swin_tiny", "image": 32, "dims": [...], ...}.
    public static func configure(json: String) throws -> ModelConfig {
        guard let d = json.data(using: .utf8),
              let o = (try? JSONSerialization.jsonObject(with: d)) as? [String: Any],
              let name = o["model"] as? String else {
            throw EngineError.invalidArgument("model config: not a JSON object with a \"model\" name: \(json.prefix(200))")
        }
        func ints(_ k: String) -> [Int]? { (o[k] as? [Any])?.compactMap { ($0 as? NSNumber)?.intValue } }
        func floats(_ k: String) -> [Float]? { (o[k] as? [Any])?.compactMap { ($0 as? NSNumber)?.floatValue } }
        func int(_ k: String) -> Int? { (o[k] as? NSNumber)?.intValue }
        var opt = ModelOptions()
        opt.image = int("image"); opt.channels = int("channels"); opt.classes = int("classes")
        opt.patch = int("patch"); opt.window = int("window"); opt.stem = int("stem")
        opt.depths = ints("depths"); opt.dims = ints("dims"); opt.heads = ints("heads")
        opt.mean = floats("mean"); opt.std = floats("std")
        opt.dropPath = (o["drop_path"] as? NSNumber)?.doubleValue
        opt.act = o["act"] as? String
        return try configure(name, opt)
    }
}
