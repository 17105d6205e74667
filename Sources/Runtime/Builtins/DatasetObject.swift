// Script-side wrappers of the data pipeline: Dataset (len, d[i], d.subset(n), d.split(f), d.batches(...)),
// Pipeline (a TrainPipeline; fit() reads it as a BatchSourceCarrier), Batches (one epoch, iterable
// with `for b in ...`, prefetched), and the RandAugment / Mixup option objects (callable on tensors).
import Engine
import Tensor
import Foundation

/// Label-smoothed (and, with lambda < 1, mixed) targets (N, classes) for the builtin `callee`.
/// The arguments are checked here, before the engine sizes anything, so every error names the builtin.
/// - Parameters:
///   - callee: the builtin's name, the prefix of every error.
///   - labels: class indices, one per image.
///   - classes: the number of classes (columns).
///   - lambda: the mixing weight of each label against its partner (1: no mixing).
///   - smoothing: label smoothing in [0, 1).
func checkedTargets(_ callee: String, labels: [Int], classes: Int, lambda: Double, smoothing: Double) throws -> Tensor {
    guard classes >= 1 else { throw RuntimeError.arguments("\(callee): classes must be >= 1, got \(classes)") }
    guard smoothing >= 0, smoothing < 1 else {
        throw RuntimeError.arguments("\(callee): smoothing must be in [0, 1), got \(formatNumber(smoothing))")
    }
    if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
        throw RuntimeError.value("\(callee): label \(bad) is out of range for \(classes) classes")
    }
    return try engine {
        try Tensor.checkSize([labels.count, classes], "\(callee): targets for \(classes) classes")
        return try Mixing.targets(labels: labels, classes: classes, lambda: lambda, smoothing: smoothing)
    }
}

/// A seed argument: a whole number >= 0.
func seedArgument(_ a: Arguments, _ name: String = "seed", default d: UInt64 = 0) throws -> UInt64 {
    guard a.has(name) else { return d }
    let s = try a.number(name)
    guard s >= 0, s == s.rounded(), s < 1.8e19 else {
        throw RuntimeError.arguments("\(a.callee): \(name) must be a whole number >= 0, got \(formatNumber(s))")
    }
    return UInt64(s)
}

/// A batch as a script record {images, labels, targets}.
func batchValue(_ b: Batch) -> Value {
    .record(RecordBox([("images", TensorObject.wrap(b.images)),
                       ("labels", .list(ListBox(b.labels.map { .number(Double($0)) }))),
                       ("targets", b.targets.map { TensorObject.wrap($0) } ?? .nil_)]))
}

public final class DatasetObject: HostObject {
    public let dataset: Dataset
    public init(_ dataset: Dataset) { self.dataset = dataset }
    public var typeName: String { "Dataset" }

    public func describe(depth: Int) -> String {
        let s = dataset.imageShape
        return "Dataset(\(dataset.count) images, \(s.channels)x\(s.height)x\(s.width), \(dataset.classes) classes)"
    }

    public var length: Int? { dataset.count }

    public var memberNames: [String] { DatasetObject.members.names }

    /// `d[i]`: [image (C, H, W), label]; negative indices count from the end.
    public func index(_ i: Value) throws -> Value? {
        guard case .number(let d) = i, d == d.rounded() else {
            throw RuntimeError.type("a Dataset is indexed by a whole number, got \(i.typeName == "number" ? i.display() : i.typeName)")
        }
        guard abs(d) < 1e15 else {
            throw RuntimeError.value("index \(formatNumber(d)) is out of range for a Dataset of \(dataset.count) images")
        }
        var k = Int(d)
        if k < 0 { k += dataset.count }
        guard k >= 0, k < dataset.count else {
            throw RuntimeError.value("index \(Int(d)) is out of range for a Dataset of \(dataset.count) images")
        }
        let (x, y) = try engine { try dataset.example(k) }
        return .list(ListBox([TensorObject.wrap(x), .number(Double(y))]))
    }

    /// `d[a:b]`: the examples a..<b as a Dataset view.
    public func slice(_ start: Int?, _ end: Int?) throws -> Value? {
        let n = dataset.count
        func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + n : v, 0), n) }
        let lo = clamp(start ?? 0), hi = clamp(end ?? n)
        guard hi > lo else { throw RuntimeError.value("the slice [\(lo):\(hi)] of a Dataset of \(n) images is empty") }
        return .object(DatasetObject(try engine { try dataset.subset(indices: Array(lo..<hi)) }))
    }

    public func member(_ name: String) throws -> Value? { try DatasetObject.members.value(name, of: self) }

    /// Fields and methods, declared once (Members.swift).
    static let members: Members<DatasetObject> = {
        var t = Members<DatasetObject>("Dataset")
        t.field("classes") { o in .number(Double(o.dataset.classes)) }
        t.field("class_names") { o in .list(ListBox(o.dataset.classNames.map { .string($0) })) }
        t.field("count") { o in .number(Double(o.dataset.count)) }
        t.field("shape") { o in
            let s = o.dataset.imageShape
            return .list(ListBox([s.channels, s.height, s.width].map { .number(Double($0)) }))
        }
        t.add("subset", "d.subset(n, seed: nil)", doc: """
            The first `n` examples as a Dataset (no copy); with `seed`, `n` examples drawn at random without
            replacement.
            """) { o, a, _ in
            let d = o.dataset
            let n = try a.int("n", at: 0)
            guard n >= 1, n <= d.count else {
                throw RuntimeError.arguments("Dataset.subset: n must be between 1 and \(d.count), got \(n)")
            }
            if a.has("seed") {
                let perm = RNG(seed: try seedArgument(a)).permutation(d.count)
                return .object(DatasetObject(try engine { try d.subset(indices: Array(perm[0..<n])) }))
            }
            return .object(DatasetObject(try engine { try d.subset(n) }))
        }
        t.add("split", "d.split(fraction, seed: 0)", doc: """
            Splits the examples at random (from `seed`) into two Datasets; the first holds round(fraction *
            len(d)) of them. Returns [first, second].
            """) { o, a, _ in
            let d = o.dataset
            let f = try a.number("fraction", at: 0)
            let (x, y) = try engine { try d.split(f, seed: try seedArgument(a)) }
            return .list(ListBox([.object(DatasetObject(x)), .object(DatasetObject(y))]))
        }
        t.add("batches", "d.batches(batch = 128, shuffle: true, seed: 0, epoch: 0, drop_last: false, prefetch: 2)", doc: """
            The data set in batches of `batch` images, shuffled from `seed` and `epoch` when `shuffle` is
            true, without augmentation, prepared ahead on a background thread.

            Loop over it: `for b in d.batches(batch: 64) { ... }`; each b is a record {images (N, C, H, W),
            labels, targets: nil}.
            """) { o, a, _ in
            let d = o.dataset
            let loader = try engine {
                try DataLoader(dataset: d, batch: try a.int("batch", at: 0, default: 128), shuffle: try a.bool("shuffle", default: true),
                               seed: try seedArgument(a), dropLast: try a.bool("drop_last", default: false),
                               prefetch: try a.int("prefetch", default: 2))
            }
            let epoch = try a.int("epoch", default: 0)
            return .object(BatchesObject(count: loader.batchesPerEpoch) { from in loader.batches(epoch: epoch, from: from) })
        }
        return t
    }()
}

/// One epoch of batches; `for b in batches` pulls them in order from a prefetching stream.
public final class BatchesObject: HostObject {
    let count: Int
    let open: (Int) throws -> BatchStream
    var stream: BatchStream?
    var next = 0

    init(count: Int, open: @escaping (Int) throws -> BatchStream) {
        self.count = count
        self.open = open
    }

    public var typeName: String { "Batches" }
    public func describe(depth: Int) -> String { "Batches(\(count) batches)" }
    public var length: Int? { count }
    public var memberNames: [String] { BatchesObject.members.names }
    public func member(_ name: String) throws -> Value? { try BatchesObject.members.value(name, of: self) }

    /// Fields, declared once (Members.swift).
    static let members: Members<BatchesObject> = {
        var t = Members<BatchesObject>("Batches")
        t.field("count") { .number(Double($0.count)) }
        return t
    }()

    /// Batch `i`: sequential access reads the open stream; any other index reopens it there.
    public func index(_ i: Value) throws -> Value? {
        guard case .number(let d) = i, d == d.rounded(), abs(d) < 1e15 else {
            throw RuntimeError.type("Batches are indexed by a whole number, got \(i.typeName == "number" ? i.display() : i.typeName)")
        }
        let k = Int(d)
        guard k >= 0, k < count else { throw RuntimeError.value("batch \(k) is out of range (\(count) batches)") }
        if stream == nil || k != next {
            stream = try engine { try open(k) }
            next = k
        }
        guard let b = try engine({ try stream?.next() }) else {
            throw RuntimeError.value("batch \(k) is missing")
        }
        next = k + 1
        return batchValue(b)
    }
}

/// RandAugment options (`randaugment(...)`); calling it augments images: `ra(x, seed: 1)`.
public final class RandAugmentObject: HostObject {
    public let config: RandAugmentConfig
    public init(_ c: RandAugmentConfig) { config = c }
    public var typeName: String { "RandAugment" }
    public func describe(depth: Int) -> String {
        "RandAugment(rand-m\(formatNumber(config.magnitude))-n\(config.ops)-mstd\(formatNumber(config.std))-inc1, p \(formatNumber(config.prob)))"
    }
    public var memberNames: [String] { RandAugmentObject.members.names }
    public func member(_ name: String) throws -> Value? { try RandAugmentObject.members.value(name, of: self) }

    /// Fields and methods, declared once (Members.swift).
    static let members: Members<RandAugmentObject> = {
        var t = Members<RandAugmentObject>("RandAugment")
        t.call("ra(x, seed: 0)", doc: """
            Augments x (C, H, W) or (N, C, H, W) in [0, 1], quantised to 8 bits like a PIL image; image i of a
            batch uses a generator seeded from (`seed`, i).
            """) { o, a, _ in try o.augment(a) }
        t.field("magnitude") { o in .number(o.config.magnitude) }
        t.field("std") { o in .number(o.config.std) }
        t.field("ops") { o in .number(Double(o.config.ops)) }
        t.field("prob") { o in .number(o.config.prob) }
        return t
    }()

    /// `ra(x, seed: 0)`: x (C, H, W) or (N, C, H, W) in [0, 1], quantised to 8 bits like a PIL image.
    public func call(_ args: Arguments, _ ctx: CallContext) throws -> Value {
        try RandAugmentObject.members.call(self, args, ctx)
    }

    func augment(_ a: Arguments) throws -> Value {
        let x = try TensorObject.tensor(a, "x", at: 0)
        let seed = try seedArgument(a)
        guard x.rank == 3 || x.rank == 4 else {
            throw RuntimeError.type("RandAugment: x must be an image (C, H, W) or a batch (N, C, H, W), got shape \(x.shape)")
        }
        let s = x.rank == 3 ? [1] + x.shape : x.shape
        let (n, c, h, w) = (s[0], s[1], s[2], s[3])
        guard c == 1 || c == 3 else { throw RuntimeError.type("RandAugment: images need 1 or 3 channels, got \(c)") }
        let out = Tensor(zeros: x.shape)
        let per = c * h * w
        for i in 0..<n {
            let img = PixelImage(chw: x.ptr + i * per, channels: c, height: h, width: w)
            config.apply(img, rng: RNG(seed: mixSeed(seed, UInt64(i)))).writeCHW(into: out.ptr + i * per)
        }
        return TensorObject.wrap(out)
    }
}

/// Mixup/CutMix options (`mixup(...)`); calling it mixes a batch: `mx(x, y, classes: 10, seed: 0)`.
public final class MixupObject: HostObject {
    public let config: MixupConfig
    public let smoothing: Double
    public init(_ c: MixupConfig, smoothing: Double) { config = c; self.smoothing = smoothing }
    public var typeName: String { "Mixup" }
    public func describe(depth: Int) -> String {
        "Mixup(mixup \(formatNumber(config.mixupAlpha)), cutmix \(formatNumber(config.cutmixAlpha)), prob \(formatNumber(config.prob)), switch \(formatNumber(config.switchProb)), smoothing \(formatNumber(smoothing)))"
    }
    public var memberNames: [String] { MixupObject.members.names }
    public func member(_ name: String) throws -> Value? { try MixupObject.members.value(name, of: self) }

    /// Fields and methods, declared once (Members.swift).
    static let members: Members<MixupObject> = {
        var t = Members<MixupObject>("Mixup")
        t.call("mx(x, y, classes: nil, seed: 0)", doc: """
            Mixes a batch x (N, C, H, W) with labels y: {images, targets, lambda}, x is not modified. `classes`
            defaults to the largest label + 1.
            """) { o, a, _ in try o.mix(a) }
        t.field("alpha") { o in .number(o.config.mixupAlpha) }
        t.field("cutmix") { o in .number(o.config.cutmixAlpha) }
        t.field("prob") { o in .number(o.config.prob) }
        t.field("switch") { o in .number(o.config.switchProb) }
        t.field("smoothing") { o in .number(o.smoothing) }
        return t
    }()

    /// `mx(x, y, classes:, seed:)` -> {images, targets, lambda}; x is not modified.
    public func call(_ args: Arguments, _ ctx: CallContext) throws -> Value {
        try MixupObject.members.call(self, args, ctx)
    }

    func mix(_ a: Arguments) throws -> Value {
        let x = try TensorObject.tensor(a, "x", at: 0)
        let y = try TensorBuiltins.labels(a, "y", at: 1)
        guard x.rank == 4 else { throw RuntimeError.type("Mixup: x must be a batch (N, C, H, W), got shape \(x.shape)") }
        guard y.count == x.shape[0] else {
            throw RuntimeError.value("Mixup: \(x.shape[0]) images but \(y.count) labels")
        }
        let classes = try a.int("classes", default: (y.max() ?? 0) + 1)
        let out = x.copy()
        let d = MixupDecision.draw(config, height: x.shape[2], width: x.shape[3], rng: RNG(seed: try seedArgument(a)))
        try engine { try Mixing.apply(d, to: out) }
        let t = try checkedTargets("Mixup", labels: y, classes: classes, lambda: d.lambda, smoothing: smoothing)
        return .record(RecordBox([("images", TensorObject.wrap(out)), ("targets", TensorObject.wrap(t)),
                                  ("lambda", .number(d.lambda))]))
    }
}

/// A training pipeline (`pipeline(...)`): `p.batches(epoch)` iterates one epoch; `fit(m, p, ...)` trains from it.
public final class PipelineObject: HostObject, BatchSourceCarrier {
    public let pipeline: TrainPipeline
    public init(_ p: TrainPipeline) { pipeline = p }
    public var batchSource: BatchSource { pipeline }
    public var typeName: String { "Pipeline" }

    public func describe(depth: Int) -> String {
        let p = pipeline
        var parts = ["batch \(p.batchSize)", "size \(p.size)"]
        switch p.crop {
        case .none: break
        case .randomResized: parts.append("random resized crop")
        case .pad(let n): parts.append("pad-\(n) crop")
        }
        if p.flip { parts.append("flip") }
        if let r = p.randAugment { parts.append("randaugment m\(formatNumber(r.magnitude)) mstd\(formatNumber(r.std))") }
        if p.randomErasing > 0 { parts.append("erasing \(formatNumber(p.randomErasing))") }
        if let m = p.mixup {
            parts.append("mixup \(formatNumber(m.mixupAlpha)) cutmix \(formatNumber(m.cutmixAlpha)) prob \(formatNumber(m.prob)) switch \(formatNumber(m.switchProb))")
        }
        if p.labelSmoothing > 0 { parts.append("smoothing \(formatNumber(p.labelSmoothing))") }
        return "Pipeline(\(p.dataset.count) images, " + parts.joined(separator: ", ") + ")"
    }

    public var memberNames: [String] { PipelineObject.members.names }

    public func member(_ name: String) throws -> Value? { try PipelineObject.members.value(name, of: self) }

    /// Fields and methods, declared once (Members.swift).
    static let members: Members<PipelineObject> = {
        var t = Members<PipelineObject>("Pipeline")
        t.field("batches_per_epoch") { o in .number(Double(o.pipeline.batchesPerEpoch)) }
        t.field("batch") { o in .number(Double(o.pipeline.batchSize)) }
        t.field("dataset") { o in .object(DatasetObject(o.pipeline.dataset)) }
        t.add("batches", "p.batches(epoch = 0, from: 0)", doc: """
            The augmented batches of `epoch` (0-based), starting at step `from`, as an iterable: `for b in
            p.batches(3) { ... }` gives records {images, labels, targets}.

            The same seed, epoch and step always give the same batch.
            """) { o, a, _ in
            let p = o.pipeline
            let e = try a.int("epoch", at: 0, default: 0)
            let from = try a.int("from", default: 0)
            guard e >= 0, from >= 0 else { throw RuntimeError.arguments("Pipeline.batches: epoch and from must be >= 0") }
            let n = max(p.batchesPerEpoch - from, 0)
            return .object(BatchesObject(count: n) { k in try p.stream(epoch: e, from: from + k) })
        }
        t.add("set", "p.set(magnitude: unchanged, mstd: unchanged, mix_prob: unchanged, mixup: unchanged, cutmix: unchanged, switch: unchanged, smoothing: unchanged, erasing: unchanged, flip: unchanged)", doc: """
            Changes augmentation settings for the following epochs (e.g. the augmentation warmup).

            RandAugment `magnitude` (nil turns it off) and `mstd`, mixup/cutmix alphas `mixup` and `cutmix`,
            mixing probability `mix_prob`, `switch` probability, label `smoothing`, random `erasing`
            probability, `flip`. Returns the pipeline.
            """) { o, a, _ in
            let p = o.pipeline
            // on a bad value nothing changes
            let saved = (p.randAugment, p.mixup, p.labelSmoothing, p.randomErasing, p.flip)
            do {
            if let v = a.value("magnitude") {
                if case .nil_ = v { p.randAugment = nil } else {
                    var r = p.randAugment ?? RandAugmentConfig()
                    r.magnitude = try a.number("magnitude")
                    p.randAugment = r
                }
            }
            if a.has("mstd") {
                var r = p.randAugment ?? RandAugmentConfig()
                r.std = try a.number("mstd")
                p.randAugment = r
            }
            if a.has("mixup") || a.has("cutmix") || a.has("mix_prob") || a.has("switch") {
                var m = p.mixup ?? MixupConfig(mixupAlpha: 0)
                m.mixupAlpha = try a.number("mixup", default: m.mixupAlpha)
                m.cutmixAlpha = try a.number("cutmix", default: m.cutmixAlpha)
                m.prob = try a.number("mix_prob", default: m.prob)
                m.switchProb = try a.number("switch", default: m.switchProb)
                p.mixup = m
            }
            p.labelSmoothing = try a.number("smoothing", default: p.labelSmoothing)
            p.randomErasing = try a.number("erasing", default: p.randomErasing)
            p.flip = try a.bool("flip", default: p.flip)
            try engine { try p.validate() }
            p.keepSettings()
            } catch {
                (p.randAugment, p.mixup, p.labelSmoothing, p.randomErasing, p.flip) = saved
                throw error
            }
            return .object(o)
        }
        return t
    }()
}
