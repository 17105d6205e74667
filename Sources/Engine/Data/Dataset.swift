// The interface of every data set (Fashion-MNIST, MNIST, CIFAR, image folders, .npy, synthetic).
// Loaders, transforms and batching build on it (docs/data-api.md).

import Tensor

/// A finite, indexable set of labelled images with pixels in [0, 1].
public protocol Dataset: AnyObject {
    /// Number of examples.
    var count: Int { get }
    /// Number of classes.
    var classes: Int { get }
    /// Class names (or "0", "1", ... when the format has none).
    var classNames: [String] { get }
    /// Shape of one image as `load` writes it (channels, height, width).
    var imageShape: (channels: Int, height: Int, width: Int) { get }
    /// Writes image `index` (C*H*W floats, row-major, in [0, 1]) to `into` and returns its label.
    /// Throws a clear error for out-of-range indices and unreadable files.
    func load(_ index: Int, into: UnsafeMutablePointer<Float>) throws -> Int
    /// Image `index` as 8-bit pixels at its stored size (what the augmentations work on).
    /// Default: `load` quantised to uint8. Image folders return the decoded file at its own size.
    func loadPixels(_ index: Int) throws -> (image: PixelImage, label: Int)
    /// The label of example `index` without decoding the image (default: through `load`).
    func label(_ index: Int) throws -> Int
}

extension Dataset {
    public func loadPixels(_ index: Int) throws -> (image: PixelImage, label: Int) {
        let s = imageShape
        let n = s.channels * s.height * s.width
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
        defer { buf.deallocate() }
        let y = try load(index, into: buf)
        return (PixelImage(chw: buf, channels: s.channels, height: s.height, width: s.width), y)
    }

    public func label(_ index: Int) throws -> Int {
        try loadPixels(index).label
    }

    /// Throws unless `0 <= index < count`.
    /// - Parameters:
    ///   - index: the example index a caller asked for.
    public func checkIndex(_ index: Int) throws {
        guard index >= 0, index < count else {
            throw EngineError.invalidArgument("index \(index) is out of range for a data set of \(count) images")
        }
    }
}

/// The two halves of a data set as published: training and test examples.
public struct DataSplits {
    public let train: Dataset
    public let test: Dataset
    public init(train: Dataset, test: Dataset) {
        self.train = train
        self.test = test
    }
    /// Number of classes (of the training split).
    public var classes: Int { train.classes }
    /// Class names (of the training split).
    public var classNames: [String] { train.classNames }
}

/// One mini-batch: images (N, C, H, W), hard labels, and soft targets (N, classes) when mixup/cutmix
/// or label smoothing produced them.
public struct Batch {
    public let images: Tensor
    public let labels: [Int]
    public let targets: Tensor?
    public init(images: Tensor, labels: [Int], targets: Tensor? = nil) {
        self.images = images
        self.labels = labels
        self.targets = targets
    }
}
