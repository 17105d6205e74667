// DataLoader: batches of a data set in a seeded order, prepared ahead on a background thread.
// Every batch is a pure function of (seed, epoch, step), so prefetching, resuming from a step and
// the number of threads never change order or content.
import Foundation
import Tensor

/// Mixes words into one 64-bit seed (splitmix64 finaliser over each word).
@inline(__always) public func mixSeed(_ words: UInt64...) -> UInt64 {
    var h: UInt64 = 0x243F_6A88_85A3_08D3
    for w in words {
        var z = h ^ (w &+ 0x9E37_79B9_7F4A_7C15)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        h = z ^ (z >> 31)
    }
    return h
}

/// Batches of a data set, shuffled from a seed, optionally prefetched on a background thread.
public final class DataLoader {
    public let count: Int
    public let batch: Int
    public let shuffle: Bool
    public let seed: UInt64
    public let dropLast: Bool
    /// How many batches are prepared ahead (0: each batch is built when asked for).
    public var prefetch: Int
    let make: (_ epoch: Int, _ step: Int, _ indices: [Int]) throws -> Batch

    /// A loader over positions 0..<count whose batches `make` builds.
    /// - Parameters:
    ///   - count: number of examples.
    ///   - batch: batch size (>= 1).
    ///   - shuffle: shuffle each epoch (from seed and epoch).
    ///   - seed: the order's seed.
    ///   - dropLast: drop the last partial batch.
    ///   - prefetch: batches prepared ahead on a background thread.
    ///   - make: builds one batch from its example positions.
    public init(count: Int, batch: Int, shuffle: Bool, seed: UInt64, dropLast: Bool, prefetch: Int,
                make: @escaping (_ epoch: Int, _ step: Int, _ indices: [Int]) throws -> Batch) throws {
        guard batch >= 1 else { throw EngineError.invalidArgument("batch size must be at least 1, got \(batch)") }
        guard count >= 1 else { throw EngineError.invalidArgument("the data set is empty") }
        guard prefetch >= 0, prefetch <= 64 else { throw EngineError.invalidArgument("prefetch must be in 0...64, got \(prefetch)") }
        if dropLast, count < batch {
            throw EngineError.invalidArgument("batch size \(batch) is larger than the data set's \(count) images")
        }
        self.count = count; self.batch = batch; self.shuffle = shuffle; self.seed = seed
        self.dropLast = dropLast; self.prefetch = prefetch; self.make = make
    }

    /// Plain batches of `dataset` (no augmentation): images as stored, hard labels.
    /// - Parameters:
    ///   - dataset: the data set.
    ///   - batch: batch size.
    ///   - shuffle: shuffle each epoch.
    ///   - seed: the order's seed.
    ///   - dropLast: drop the last partial batch.
    ///   - prefetch: batches prepared ahead.
    public convenience init(dataset: Dataset, batch: Int, shuffle: Bool = false, seed: UInt64 = 0,
                            dropLast: Bool = false, prefetch: Int = 2) throws {
        let s = dataset.imageShape
        // Checked before any batch is allocated (a size: 4096 data set in batches of 128 is 8 GiB each).
        try Tensor.checkSize([Swift.min(batch, Swift.max(dataset.count, 1)), s.channels, s.height, s.width],
                             "batches of \(batch) images of \(s.channels)x\(s.height)x\(s.width)")
        try self.init(count: dataset.count, batch: batch, shuffle: shuffle, seed: seed, dropLast: dropLast,
                      prefetch: prefetch) { _, _, idx in
            let per = s.channels * s.height * s.width
            let t = Tensor(zeros: [idx.count, s.channels, s.height, s.width])
            var labels = [Int](repeating: 0, count: idx.count)
            for (k, i) in idx.enumerated() { labels[k] = try dataset.load(i, into: t.ptr + k * per) }
            return Batch(images: t, labels: labels)
        }
    }

    /// Number of batches in one epoch.
    public var batchesPerEpoch: Int { dropLast ? count / batch : (count + batch - 1) / batch }

    /// The order of the examples in `epoch`.
    public func order(epoch: Int) -> [Int] {
        shuffle ? RNG(seed: mixSeed(seed, UInt64(bitPattern: Int64(epoch)), 0x5348_5546)).permutation(count) : Array(0..<count)
    }

    /// The example positions of batch `step` of `epoch`.
    public func indices(epoch: Int, step: Int, order: [Int]) -> [Int] {
        let lo = step * batch, hi = min(lo + batch, count)
        return Array(order[lo..<hi])
    }

    /// The batches of `epoch`, starting at `from` (for resuming).
    /// - Parameters:
    ///   - epoch: the epoch (changes the shuffle and the augmentations).
    ///   - from: first step (0-based).
    public func batches(epoch: Int, from: Int = 0) -> PrefetchStream {
        let ord = order(epoch: epoch)
        let steps = batchesPerEpoch
        let producer: (Int) throws -> Batch = { [make, self] step in
            try make(epoch, step, self.indices(epoch: epoch, step: step, order: ord))
        }
        let lo = min(max(0, from), steps)
        return PrefetchStream(range: lo..<steps, prefetch: prefetch, produce: producer)
    }
}

/// The batches of one epoch (`BatchStream`, BatchSource.swift). `next()` returns nil at the end and throws
/// what building a batch threw (a corrupt file, ...). Dropping the stream stops its background thread.
public final class PrefetchStream: BatchStream {
    final class Shared {
        let cond = NSCondition()
        var ready: [Int: Result<Batch, Error>] = [:]
        var consumed: Int
        var cancelled = false
        var finished = false
        init(start: Int) { consumed = start }
    }
    let shared: Shared
    let range: Range<Int>
    let produce: (Int) throws -> Batch
    let prefetch: Int
    var nextStep: Int
    var started = false

    init(range: Range<Int>, prefetch: Int, produce: @escaping (Int) throws -> Batch) {
        self.range = range
        self.prefetch = prefetch
        self.produce = produce
        self.nextStep = range.lowerBound
        shared = Shared(start: range.lowerBound)
    }

    deinit {
        shared.cond.lock()
        shared.cancelled = true
        shared.cond.broadcast()
        shared.cond.unlock()
    }

    /// The step the next call to `next()` returns.
    public var step: Int { nextStep }

    private func start() {
        started = true
        guard prefetch > 0, range.count > 0 else { return }
        let sh = shared, r = range, depth = prefetch, produce = produce
        let t = Thread {
            for s in r {
                sh.cond.lock()
                while !sh.cancelled && s >= sh.consumed + depth { sh.cond.wait() }
                let stop = sh.cancelled
                sh.cond.unlock()
                if stop { return }
                let result = Result { try produce(s) }
                sh.cond.lock()
                sh.ready[s] = result
                sh.cond.broadcast()
                sh.cond.unlock()
                if case .failure = result { break }
            }
            sh.cond.lock(); sh.finished = true; sh.cond.broadcast(); sh.cond.unlock()
        }
        t.name = "adv.data.prefetch"
        t.stackSize = 1 << 22
        t.start()
    }

    /// The next batch, or nil after the last one.
    public func next() throws -> Batch? {
        guard nextStep < range.upperBound else { return nil }
        if !started { start() }
        let s = nextStep
        if prefetch == 0 {
            let b = try produce(s)
            nextStep += 1
            return b
        }
        shared.cond.lock()
        while shared.ready[s] == nil && !shared.finished { shared.cond.wait() }
        let r = shared.ready.removeValue(forKey: s)
        shared.consumed = s + 1
        shared.cond.broadcast()
        shared.cond.unlock()
        guard let result = r else { return nil }
        nextStep += 1
        return try result.get()
    }

    /// All remaining batches (small data sets and tests).
    public func collect() throws -> [Batch] {
        var out = [Batch]()
        while let b = try next() { out.append(b) }
        return out
    }
}
