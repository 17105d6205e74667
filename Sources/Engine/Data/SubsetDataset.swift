// Views of a data set: a subset of its indices (subset(n), split(fraction)). No pixels are copied.

import Tensor

/// The examples of `base` at `indices`, in that order.
public final class SubsetDataset: Dataset {
    public let base: Dataset
    public let indices: [Int]
    public var count: Int { indices.count }
    public var classes: Int { base.classes }
    public var classNames: [String] { base.classNames }
    public var imageShape: (channels: Int, height: Int, width: Int) { base.imageShape }

    /// - Parameters:
    ///   - base: the data set viewed.
    ///   - indices: positions in `base` (each checked).
    public init(base: Dataset, indices: [Int]) throws {
        if let bad = indices.first(where: { $0 < 0 || $0 >= base.count }) {
            throw EngineError.invalidArgument("subset index \(bad) is out of range for a data set of \(base.count) images")
        }
        self.base = base
        self.indices = indices
    }

    public func load(_ index: Int, into: UnsafeMutablePointer<Float>) throws -> Int {
        try checkIndex(index)
        return try base.load(indices[index], into: into)
    }

    public func loadPixels(_ index: Int) throws -> (image: PixelImage, label: Int) {
        try checkIndex(index)
        return try base.loadPixels(indices[index])
    }

    public func label(_ index: Int) throws -> Int {
        try checkIndex(index)
        return try base.label(indices[index])
    }
}

extension Dataset {
    /// The first `n` examples (n must be in 1...count).
    /// - Parameters:
    ///   - n: how many examples to keep.
    public func subset(_ n: Int) throws -> Dataset {
        guard n >= 1, n <= count else {
            throw EngineError.invalidArgument("subset size \(n) must be between 1 and the data set's \(count) images")
        }
        return try SubsetDataset(base: self, indices: Array(0..<n))
    }

    /// The examples at `indices`, in that order.
    /// - Parameters:
    ///   - indices: positions in this data set.
    public func subset(indices: [Int]) throws -> Dataset {
        try SubsetDataset(base: self, indices: indices)
    }

    /// A random partition (shuffled from `seed`): the first part holds round(fraction * count) examples.
    /// - Parameters:
    ///   - fraction: share of the first part, strictly between 0 and 1; both parts must be non-empty.
    ///   - seed: the shuffle's seed.
    public func split(_ fraction: Double, seed: UInt64 = 0) throws -> (Dataset, Dataset) {
        guard fraction > 0, fraction < 1, fraction.isFinite else {
            throw EngineError.invalidArgument("split fraction must be strictly between 0 and 1, got \(fraction)")
        }
        let k = Int((fraction * Double(count)).rounded())
        guard k >= 1, k < count else {
            throw EngineError.invalidArgument("split(\(fraction)) of \(count) images leaves an empty part")
        }
        let perm = RNG(seed: seed).permutation(count)
        return (try SubsetDataset(base: self, indices: Array(perm[0..<k])),
                try SubsetDataset(base: self, indices: Array(perm[k...])))
    }

    /// Example `index` as a (C, H, W) tensor and its label.
    /// - Parameters:
    ///   - index: position in the data set.
    public func example(_ index: Int) throws -> (image: Tensor, label: Int) {
        try checkIndex(index)
        let s = imageShape
        let t = Tensor(zeros: [s.channels, s.height, s.width])
        let y = try load(index, into: t.ptr)
        return (t, y)
    }

    /// Examples `range` as one un-augmented batch (N, C, H, W) with labels.
    /// - Parameters:
    ///   - range: positions in the data set.
    public func tensors(_ range: Range<Int>) throws -> (images: Tensor, labels: [Int]) {
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw EngineError.invalidArgument("range \(range) is out of bounds for a data set of \(count) images")
        }
        let s = imageShape
        let per = s.channels * s.height * s.width
        try Tensor.checkSize([range.count, s.channels, s.height, s.width], "\(range.count) images of \(s.channels)x\(s.height)x\(s.width)")
        let t = Tensor(zeros: [range.count, s.channels, s.height, s.width])
        var labels = [Int]()
        labels.reserveCapacity(range.count)
        for (k, i) in range.enumerated() { labels.append(try load(i, into: t.ptr + k * per)) }
        return (t, labels)
    }
}
