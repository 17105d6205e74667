// The interface of every data set (Fashion-MNIST, MNIST, CIFAR, image folders, .npy, synthetic).
// Loaders, transforms and batching (owned by the data-pipeline code) build on it.

/// A finite, indexable set of labelled images with pixels in [0, 1].
public protocol Dataset: AnyObject {
    /// Number of examples.
    var count: Int { get }
    /// Number of classes.
    var classes: Int { get }
    /// Class names (or "0", "1", ... when the format has none).
    var classNames: [String] { get }
    /// Shape of one image as stored (channels, height, width) before any transform.
    var imageShape: (channels: Int, height: Int, width: Int) { get }
    /// Writes image `index` (C*H*W floats, row-major, in [0, 1]) to `into` and returns its label.
    /// Throws a clear error for out-of-range indices and unreadable files.
    func load(_ index: Int, into: UnsafeMutablePointer<Float>) throws -> Int
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
