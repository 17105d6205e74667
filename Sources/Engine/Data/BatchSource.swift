// What `Trainer` reads its mini-batches from: a per-epoch stream that can start mid-epoch
// (for resuming) and takes the epoch's augmentation settings. The data pipeline
// (TrainPipeline) is adapted to it; `ShuffledBatches` is a plain source without augmentation.

import Tensor

/// A stream of mini-batches of one epoch.
public protocol BatchStream: AnyObject {
    /// The next batch, or nil at the end of the epoch.
    func next() throws -> Batch?
}

/// A deterministic source of training batches, epoch by epoch.
public protocol BatchSource: AnyObject {
    /// Full batches per epoch (a partial last batch is dropped).
    var batchesPerEpoch: Int { get }
    /// Images per batch.
    var batchSize: Int { get }
    /// Applies an epoch's augmentation settings; throws when the source cannot honour them.
    func configure(_ settings: AugmentSettings) throws
    /// The batches of `epoch`, starting at batch `from`; identical whether or not earlier
    /// batches were read (that is what makes resuming bit-identical).
    func batches(epoch: Int, from: Int) throws -> BatchStream
    /// Number of classes of the labels it yields, when known (checked against the model's).
    var labelClasses: Int? { get }
    /// Settings that change batch by batch within the coming epoch (see the extension).
    func configure(perBatch settings: (Int) -> AugmentSettings) throws
    /// What identifies the data of a run (see the extension).
    var identity: [(String, String)] { get }
    /// Makes this process build only its share of every batch under data-parallel training on
    /// `count` processes (see the extension).
    func shard(rank: Int, of count: Int) throws
}

/// One process's share of every batch under data-parallel training (docs/distributed.md): the
/// epoch's order is cut into global batches of `count` x batch images, as PyTorch's
/// DistributedSampler cuts one seeded order, and process `rank` takes the `rank`-th slice.
public struct Shard: Equatable {
    public let rank: Int
    public let count: Int
    /// One process: the whole batch.
    public static let whole = Shard(uncheckedRank: 0, count: 1)

    init(uncheckedRank rank: Int, count: Int) { self.rank = rank; self.count = count }

    public init(rank: Int, count: Int) throws {
        guard count >= 1, (0..<count).contains(rank) else {
            throw EngineError.invalidArgument("shard: rank \(rank) is outside 0..<\(count)")
        }
        self.init(uncheckedRank: rank, count: count)
    }

    /// This process's positions within a global batch of `count` x `batch` images.
    public func range(batch: Int) -> Range<Int> { (rank * batch)..<((rank + 1) * batch) }
}

extension BatchSource {
    public var labelClasses: Int? { nil }

    /// What identifies the data of a run (set, size, count, seed, crop/flip), as (field, value)
    /// pairs that a resumed run must match (`fit(resume:)`). Empty: nothing is checked.
    public var identity: [(String, String)] { [] }

    /// Refuses to be split: only sources that know their epoch's global order can be.
    public func shard(rank: Int, of count: Int) throws {
        if count != 1 {
            throw EngineError.invalidArgument("this batch source cannot be split over \(count) processes; train through the data pipeline (a Dataset or pipeline(...))")
        }
    }

    /// Applies settings that change batch by batch within the coming epoch (a compressed
    /// augmentation warmup): `settings(i)` for batch i of the epoch. This default accepts
    /// settings that are the same for every batch and refuses others.
    public func configure(perBatch settings: (Int) -> AugmentSettings) throws {
        let first = settings(0)
        for i in 1..<Swift.max(1, batchesPerEpoch) where settings(i) != first {
            throw EngineError.invalidArgument("this batch source cannot change its augmentation within an epoch (batch \(i): \(settings(i))); train through the data pipeline")
        }
        try configure(first)
    }
}

/// Shuffled batches of a data set without augmentation (hard labels, label smoothing applied by
/// the loss). The order of epoch e is a permutation drawn from RNG(seed ^ e-mix).
public final class ShuffledBatches: BatchSource {
    public let dataset: Dataset
    public var labelClasses: Int? { dataset.classes }
    public let batchSize: Int
    public let seed: UInt64

    /// - Parameters:
    ///   - dataset: the training split.
    ///   - batch: images per batch.
    ///   - seed: determines every epoch's order.
    public init(dataset: Dataset, batch: Int, seed: UInt64) throws {
        guard batch >= 1 else { throw EngineError.invalidArgument("batches: batch must be >= 1, got \(batch)") }
        guard dataset.count >= batch else {
            throw EngineError.invalidArgument("batches: the data set has \(dataset.count) images, fewer than one batch of \(batch)")
        }
        self.dataset = dataset
        self.batchSize = batch
        self.seed = seed
    }

    public var batchesPerEpoch: Int { dataset.count / batchSize }

    public func configure(_ s: AugmentSettings) throws {
        if s.randAugmentMagnitude != nil || s.mixes || s.randomErasing > 0 {
            throw EngineError.invalidArgument("plain batches cannot augment (\(s)); train through the data pipeline")
        }
    }

    public func batches(epoch: Int, from: Int) throws -> BatchStream {
        let rng = RNG(seed: seed &+ 0x9E37_79B9 &* UInt64(epoch + 1))
        return Stream(source: self, order: rng.permutation(dataset.count), next: from)
    }

    final class Stream: BatchStream {
        let source: ShuffledBatches
        let order: [Int]
        var index: Int
        init(source: ShuffledBatches, order: [Int], next: Int) { self.source = source; self.order = order; index = next }

        func next() throws -> Batch? {
            guard index < source.batchesPerEpoch else { return nil }
            let d = source.dataset, n = source.batchSize
            let (c, h, w) = d.imageShape
            let per = c * h * w
            let x = Tensor(zeros: [n, c, h, w])
            var labels: [Int] = []
            labels.reserveCapacity(n)
            for j in 0..<n {
                labels.append(try d.load(order[index * n + j], into: x.ptr + j * per))
            }
            index += 1
            return Batch(images: x, labels: labels)
        }
    }
}
