// TrainPipeline: the training input pipeline, timm's order. Per image: crop (random resized crop,
// padded random crop, or resize + centre crop) -> horizontal flip -> RandAugment (8-bit, Pillow
// semantics) -> float [0, 1] -> random erasing. Per batch: mixup/CutMix with the reversed batch and
// soft targets with label smoothing. Randomness derives from (seed, epoch, position), so batches are
// bit-identical with or without prefetch, with any number of workers, and when resuming mid-epoch.
import Dispatch
import Foundation
import Tensor

/// How training images are cropped to the output size.
public enum CropMode: Equatable {
    /// No random crop: images of another size get the evaluation view (resize + centre crop).
    case none
    /// torchvision RandomResizedCrop with area `scale` and aspect `ratio` ranges.
    case randomResized(scale: Double = 0.08, maxScale: Double = 1, ratio: Double = 3.0 / 4, maxRatio: Double = 4.0 / 3)
    /// torchvision RandomCrop(size, padding: p) (CIFAR style).
    case pad(Int)
}

/// The training pipeline (see docs/data-api.md). Settings are plain properties, settable between epochs.
public final class TrainPipeline: BatchSource {
    public let dataset: Dataset
    public var labelClasses: Int? { dataset.classes }
    public let batchSize: Int
    public let seed: UInt64
    /// Output side (images are size x size).
    public let size: Int
    public var crop: CropMode
    public var flip: Bool
    public var randAugment: RandAugmentConfig?
    public var randomErasing: Double
    public var mixup: MixupConfig?
    public var labelSmoothing: Double
    /// Resampling filter of crops and resizes (timm/ConvNeXt training: bicubic).
    public var filter: ResampleFilter
    /// Batches prepared ahead on a background thread (0: built on the caller's thread).
    public var prefetch: Int
    /// Threads that build the images of one batch (1: the prefetch thread alone).
    public var workers: Int

    /// - Parameters:
    ///   - dataset: the training split.
    ///   - batch: images per batch (even when mixup/CutMix is on).
    ///   - seed: every shuffle and augmentation derives from it.
    ///   - size: output side (default: the data set's stored height).
    ///   - crop: `.none`, `.randomResized()` or `.pad(4)`.
    ///   - flip: random horizontal flip with probability 0.5.
    ///   - randAugment: RandAugment settings or nil.
    ///   - randomErasing: random erasing probability.
    ///   - mixup: mixup/CutMix settings or nil.
    ///   - labelSmoothing: smoothing folded into the soft targets of mixed batches.
    ///   - filter: resampling filter.
    ///   - prefetch: batches prepared ahead.
    ///   - workers: threads per batch.
    public init(dataset: Dataset, batch: Int, seed: UInt64 = 0, size: Int? = nil, crop: CropMode = .none,
                flip: Bool = false, randAugment: RandAugmentConfig? = nil, randomErasing: Double = 0,
                mixup: MixupConfig? = nil, labelSmoothing: Double = 0, filter: ResampleFilter = .bicubic,
                prefetch: Int = 2, workers: Int = 1) throws {
        let s = size ?? dataset.imageShape.height
        guard batch >= 1 else { throw EngineError.invalidArgument("pipeline: batch must be at least 1, got \(batch)") }
        guard dataset.count >= batch else {
            throw EngineError.invalidArgument("pipeline: the data set has \(dataset.count) images, fewer than one batch of \(batch)")
        }
        guard s >= 1, s <= 4096 else { throw EngineError.invalidArgument("pipeline: size must be in 1...4096, got \(s)") }
        guard workers >= 1, workers <= 64 else { throw EngineError.invalidArgument("pipeline: workers must be in 1...64, got \(workers)") }
        guard prefetch >= 0, prefetch <= 64 else { throw EngineError.invalidArgument("pipeline: prefetch must be in 0...64, got \(prefetch)") }
        self.dataset = dataset
        self.batchSize = batch
        self.seed = seed
        self.size = s
        self.crop = crop
        self.flip = flip
        self.randAugment = randAugment
        self.randomErasing = randomErasing
        self.mixup = mixup
        self.labelSmoothing = labelSmoothing
        self.filter = filter
        self.prefetch = prefetch
        self.workers = workers
        try validate()
    }

    /// Throws when a setting is out of range (called by init, `configure` and `batches`).
    public func validate() throws {
        try randAugment?.validate()
        try mixup?.validate()
        guard (0...1).contains(randomErasing) else {
            throw EngineError.invalidArgument("pipeline: random erasing probability must be in [0, 1], got \(randomErasing)")
        }
        guard labelSmoothing >= 0, labelSmoothing < 1 else {
            throw EngineError.invalidArgument("pipeline: label smoothing must be in [0, 1), got \(labelSmoothing)")
        }
        if let m = mixup, m.mixupAlpha > 0 || m.cutmixAlpha > 0, batchSize % 2 != 0 {
            throw EngineError.invalidArgument("pipeline: mixup/cutmix needs an even batch size (each image is mixed with its mirror in the batch), got \(batchSize)")
        }
        switch crop {
        case .none: break
        case .randomResized(let a, let b, let r0, let r1):
            guard a > 0, a <= b, b <= 1, r0 > 0, r0 <= r1 else {
                throw EngineError.invalidArgument("pipeline: random resized crop needs 0 < scale <= max scale <= 1 and 0 < ratio <= max ratio")
            }
        case .pad(let p):
            guard p >= 0, p <= 1024 else { throw EngineError.invalidArgument("pipeline: crop padding must be in 0...1024, got \(p)") }
        }
    }

    /// Which share of every batch this process builds under data-parallel training
    /// (`BatchSource.shard`): the epoch's order is cut into batches of batchSize x count images
    /// and this process takes images rank x batchSize ..< (rank + 1) x batchSize of each.
    public private(set) var shard = Shard.whole

    public func shard(rank: Int, of count: Int) throws {
        shard = try Shard(rank: rank, count: count)
        guard dataset.count >= shard.count * batchSize else {
            throw EngineError.invalidArgument("pipeline: the data set has \(dataset.count) images, fewer than one global batch of \(shard.count) x \(batchSize)")
        }
    }

    /// Images of one batch over all processes.
    var globalBatch: Int { batchSize * shard.count }

    public var batchesPerEpoch: Int { dataset.count / globalBatch }

    /// The pipeline's own augmentation (from init or `keepSettings()`), which `configure` falls back to.
    var own: (randAugment: RandAugmentConfig?, mixup: MixupConfig?, smoothing: Double, erasing: Double)?

    /// Makes the current augmentation settings the pipeline's own: what `configure` keeps wherever the
    /// recipe's settings for an epoch leave an augmentation off.
    public func keepSettings() {
        own = (randAugment, mixup, labelSmoothing, randomErasing)
    }

    /// Applies one epoch's settings from the training recipe (`AugmentSettings`). What the
    /// recipe turns on (RandAugment magnitude, mixing with its probabilities and smoothing, erasing)
    /// replaces the pipeline's own setting for that epoch; what the recipe leaves off keeps the
    /// pipeline's own setting, so a pipeline built with augmentation keeps it under a plain recipe.
    public func configure(_ s: AugmentSettings) throws {
        perBatch = nil
        try apply(s)
    }

    /// Settings of every batch of the coming epoch when they change within it (nil: one for all).
    var perBatch: [Settings]?

    /// Applies settings that change batch by batch within the coming epoch (Training's
    /// BatchSource): batch i of the next `batches(epoch:from:)` is built with `settings(i)`, so a
    /// batch still depends only on (seed, epoch, step) and resuming stays bit-identical.
    public func configure(perBatch settings: (Int) -> AugmentSettings) throws {
        var list: [Settings] = []
        var last: AugmentSettings?
        for i in 0..<batchesPerEpoch {
            let s = settings(i)
            if s != last { try apply(s); last = s }
            list.append(Settings(self))
        }
        perBatch = list
    }

    /// What a resumed run must match: the data set (type, count, shape, classes and a hash of the
    /// labels), output size, crop, flip and seed.
    public var identity: [(String, String)] {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<dataset.count {
            h = (h ^ UInt64(truncatingIfNeeded: (try? dataset.label(i)) ?? -1)) &* 0x100_0000_01b3
        }
        let (c, hh, w) = dataset.imageShape
        return [("data set", "\(type(of: dataset)) of \(dataset.count) images \(c)x\(hh)x\(w), \(dataset.classes) classes, labels hash \(String(h, radix: 16))"),
                ("data size", String(size)), ("data crop", "\(crop)"), ("data flip", String(flip)),
                ("data seed", String(seed)), ("data batch", String(globalBatch))]
    }

    /// Sets the augmentation fields from one batch's settings.
    private func apply(_ s: AugmentSettings) throws {
        if own == nil { keepSettings() }
        guard let base = own else { return }
        if let m = s.randAugmentMagnitude {
            var ra = base.randAugment ?? RandAugmentConfig()
            ra.magnitude = m; ra.std = s.randAugmentStd; ra.ops = s.randAugmentOps
            randAugment = ra
        } else {
            randAugment = base.randAugment
        }
        if s.mixes {
            mixup = MixupConfig(mixupAlpha: s.mixupAlpha, cutmixAlpha: s.cutmixAlpha, prob: s.mixProb, switchProb: s.switchProb)
            labelSmoothing = s.labelSmoothing
        } else {
            mixup = base.mixup
            labelSmoothing = base.smoothing
        }
        randomErasing = s.randomErasing > 0 ? s.randomErasing : base.erasing
        try validate()
    }

    /// The batches of `epoch` from step `from` (`BatchSource`).
    public func batches(epoch: Int, from: Int) throws -> BatchStream {
        try stream(epoch: epoch, from: from)
    }

    /// The batches of `epoch` from step `from`, as the concrete stream.
    /// - Parameters:
    ///   - epoch: 0-based epoch.
    ///   - from: first step (resume).
    public func stream(epoch: Int, from: Int = 0) throws -> PrefetchStream {
        try validate()
        let frozen = Settings(self), each = perBatch
        let mine = shard.range(batch: batchSize)
        let loader = try DataLoader(count: dataset.count, batch: globalBatch, shuffle: true, seed: seed, dropLast: true,
                                    prefetch: prefetch) { [dataset, seed, globalBatch] e, step, idx in
            let settings = each.flatMap { step < $0.count ? $0[step] : nil } ?? frozen
            // This process's share; each image keeps its position in the epoch's order.
            return try settings.makeBatch(dataset: dataset, seed: seed, epoch: e, step: step, indices: Array(idx[mine]),
                                          firstPosition: step * globalBatch + mine.lowerBound)
        }
        return loader.batches(epoch: epoch, from: from)
    }

    /// An immutable copy of the settings used by one epoch's background thread.
    struct Settings {
        let size: Int, crop: CropMode, flip: Bool, randAugment: RandAugmentConfig?, randomErasing: Double
        let mixup: MixupConfig?, labelSmoothing: Double, filter: ResampleFilter, workers: Int

        init(_ p: TrainPipeline) {
            size = p.size; crop = p.crop; flip = p.flip; randAugment = p.randAugment
            randomErasing = p.randomErasing; mixup = p.mixup; labelSmoothing = p.labelSmoothing
            filter = p.filter; workers = p.workers
        }

        var perImage: ImageTransform {
            ImageTransform(size: size, crop: crop, flip: flip, randAugment: randAugment, randomErasing: randomErasing, filter: filter)
        }

        /// Builds the batch of `indices`, image k at position `firstPosition + k` of the epoch's
        /// order (its augmentation's key); the mixing decision is the step's.
        func makeBatch(dataset: Dataset, seed: UInt64, epoch: Int, step: Int, indices: [Int], firstPosition: Int) throws -> Batch {
            let c = dataset.imageShape.channels
            let n = indices.count
            let per = c * size * size
            let transform = perImage
            try Tensor.checkSize([n, c, size, size], "a batch of \(n) images of \(c)x\(size)x\(size)")
            let images = Tensor(zeros: [n, c, size, size])
            var labels = [Int](repeating: 0, count: n)
            var errors = [Error?](repeating: nil, count: n)
            let base = images.ptr
            let e64 = UInt64(bitPattern: Int64(epoch))
            // one image: decode, augment, write; returns its label
            let one: (Int) throws -> Int = { k in
                let (img, y) = try dataset.loadPixels(indices[k])
                guard img.channels == c else {
                    throw EngineError.io("image \(indices[k]) has \(img.channels) channels, the data set \(c)")
                }
                let rng = RNG(seed: mixSeed(seed, e64, UInt64(firstPosition + k), 0x494D_4147))
                transform.apply(img, rng: rng, into: base + k * per)
                return y
            }
            if workers > 1 && n > 1 {
                let chunks = min(workers, n)
                let chunk = (n + chunks - 1) / chunks
                labels.withUnsafeMutableBufferPointer { lp in
                    errors.withUnsafeMutableBufferPointer { ep in
                        DispatchQueue.concurrentPerform(iterations: chunks) { ci in
                            for k in (ci * chunk)..<min(n, (ci + 1) * chunk) {
                                do { lp[k] = try one(k) } catch { ep[k] = error }
                            }
                        }
                    }
                }
            } else {
                for k in 0..<n { labels[k] = try one(k) }
            }
            if let e = errors.compactMap({ $0 }).first { throw e }
            guard let m = mixup, m.mixupAlpha > 0 || m.cutmixAlpha > 0 else { return Batch(images: images, labels: labels) }
            let rng = RNG(seed: mixSeed(seed, e64, UInt64(step), 0x4D49_5855))
            let d = MixupDecision.draw(m, height: size, width: size, rng: rng)
            try Mixing.apply(d, to: images)
            let targets = try Mixing.targets(labels: labels, classes: dataset.classes, lambda: d.lambda, smoothing: labelSmoothing)
            return Batch(images: images, labels: labels, targets: targets)
        }
    }
}

/// The per-image part of the training pipeline: crop -> flip -> RandAugment -> float -> random erasing.
public struct ImageTransform {
    public var size: Int
    public var crop: CropMode
    public var flip: Bool
    public var randAugment: RandAugmentConfig?
    public var randomErasing: Double
    public var filter: ResampleFilter

    /// - Parameters:
    ///   - size: output side.
    ///   - crop: crop mode.
    ///   - flip: horizontal flip with probability 0.5.
    ///   - randAugment: RandAugment settings or nil.
    ///   - randomErasing: erasing probability.
    ///   - filter: resampling filter.
    public init(size: Int, crop: CropMode = .none, flip: Bool = false, randAugment: RandAugmentConfig? = nil,
                randomErasing: Double = 0, filter: ResampleFilter = .bicubic) {
        self.size = size; self.crop = crop; self.flip = flip; self.randAugment = randAugment
        self.randomErasing = randomErasing; self.filter = filter
    }

    /// Transforms one image and writes it as (C, size, size) floats in [0, 1].
    /// - Parameters:
    ///   - img: the 8-bit image at its stored size.
    ///   - rng: the image's generator (all of its random choices come from it, in a fixed order).
    ///   - out: room for C * size * size floats.
    public func apply(_ img: PixelImage, rng: RNG, into out: UnsafeMutablePointer<Float>) {
        var x = img
        switch crop {
        case .none:
            if x.width != size || x.height != size { x = ResizeCenterCrop(size: size, filter: filter).apply(x) }
        case .randomResized(let a, let b, let r0, let r1):
            let t = RandomResizedCrop(size: size, scale: (a, b), ratio: (r0, r1), filter: filter)
            x = t.apply(x, box: t.box(width: x.width, height: x.height, rng: rng))
        case .pad(let p):
            if x.width != size || x.height != size { x = x.resized(width: size, height: size, filter: filter) }
            x = PadCrop(size: size, padding: p).apply(x, rng: rng)
        }
        if flip, rng.uniformDouble() < 0.5 { x = x.flippedHorizontally() }
        if let ra = randAugment { x = ra.apply(x, rng: rng) }
        x.writeCHW(into: out)
        if randomErasing > 0 {
            RandomErasing(probability: randomErasing).apply(out, channels: x.channels, height: size, width: size, rng: rng)
        }
    }
}
