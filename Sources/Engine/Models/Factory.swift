// Building models by name with options: the table of families (`Models.families`), the options
// applied through what each family declares (ModelFamily.swift), and the parameter-budget search
// (`params: N`).
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

    /// Whether a family-specific option is given.
    func has(_ option: ModelOption) -> Bool {
        switch option {
        case .patch: return patch != nil
        case .window: return window != nil
        case .heads: return heads != nil
        case .act: return act != nil
        case .stem: return stem != nil
        }
    }
}

public enum Models {
    /// Every architecture family, in the order `models()` lists them. Adding a family is a file
    /// declaring it (Models/NAME/NAME+Family.swift) and one line here (docs/architecture.md).
    static let families: [any ModelFamily.Type] = [
        ConvNeXtFamily.self,
        SwinFamily.self,
        PoolFormerFamily.self,
        DeiTFamily.self,
        ResNetFamily.self,
    ]

    /// The family named `name` ("convnext"), or nil.
    static func family(named name: String) -> (any ModelFamily.Type)? {
        families.first { $0.name == name }
    }

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
        c.arch.family.build(c, dry: dry, rng: rng)
    }

    /// Parameter count of a configuration without allocating it.
    public static func countParams(_ c: ModelConfig) throws -> Int {
        try c.validate()
        return construct(c, dry: true, rng: RNG(seed: 0)).store.paramCount
    }

    /// The family default with the options applied (and the budget search when `params` is set).
    public static func configure(_ name: String, _ o: ModelOptions) throws -> ModelConfig {
        var c = try ModelConfig.named(name)
        let family = c.arch.family
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
        // heads: is not refused: families without attention heads ignore it.
        for option in [ModelOption.patch, .window, .act, .stem] where o.has(option) && !family.options.contains(option) {
            throw bad(notApplicable(option, to: family))
        }
        if let v = o.patch { c.patch = v }
        if let v = o.window { c.window = v }
        if o.parity {
            // Given patch/window win; parity fills in the others before the budget search.
            let p = c.withGridParity()
            if o.patch == nil { c.patch = p.patch }
            if o.window == nil { c.window = p.window }
        }
        if let v = o.act { c.act = v }
        if let v = o.stem { c.stem = v }
        if let v = o.dropPath { c.dropPath = v }
        let stagesBefore = c.dims.count
        if let v = o.depths {
            c.depths = v
            if family.stages != .single, v.count != stagesBefore, o.dims == nil {
                // fewer/more stages: keep the doubling rule from the first width
                c.dims = (0..<v.count).map { c.dims[0] << $0 }
                if family.stages == .doubling, o.heads == nil { c.heads = (0..<v.count).map { c.heads[0] << $0 } }
            }
        }
        if let v = o.heads {
            c.heads = family.stages == .doubling && v.count == 1 ? (0..<c.dims.count).map { v[0] << $0 } : v
        }
        let given = [o.dims != nil, o.width != nil, o.params != nil].filter { $0 }.count
        guard given <= 1 else { throw bad("give at most one of dims:, width: and params:") }
        if let v = o.dims {
            c.dims = family.stages == .doubling && v.count == 1 ? (0..<c.depths.count).map { v[0] << $0 } : v
        }
        if let w = o.width {
            guard w > 0, w <= 64 else { throw bad("width must be in (0, 64], got \(w)") }
            c = family.scaled(c, w: w, quantum: 1, keepHeads: true)
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

    /// The error for a family-specific option given to a family that does not take it, naming
    /// the families that do ("window: applies to swin only").
    static func notApplicable(_ option: ModelOption, to family: any ModelFamily.Type) -> String {
        let takers = families.filter { $0.options.contains(option) }.map { $0.name }
        guard takers.count > 1, let last = takers.last else { return "\(option.rawValue): applies to \(takers.first ?? "no family") only" }
        return "\(option.rawValue): applies to \(takers.dropLast().joined(separator: ", ")) and \(last), not \(family.name)"
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
                let p = consider(base.arch.family.scaled(base, w: mid, quantum: q, keepHeads: userHeads)) ?? 0
                if p < n { lo = mid } else { hi = mid }
                if hi / lo < 1.001 { break }
            }
            // then scan the neighbourhood, where per-stage rounding makes the count jump
            let a = lo / 1.25, steps = 160
            for i in 0...steps {
                let w = a * pow(1.25 * 1.25, Double(i) / Double(steps))
                _ = consider(base.arch.family.scaled(base, w: w, quantum: q, keepHeads: userHeads))
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
