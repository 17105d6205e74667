// ByteDataset: images held in memory as 8-bit planes (N, C, H, W), as IDX, CIFAR, uint8 .npy and the
// synthetic task store them. 60,000 Fashion-MNIST images take 47 MB this way.

import Tensor

/// An in-memory data set of 8-bit images (N, C, H, W) with integer labels.
public final class ByteDataset: Dataset {
    /// The pixels, N*C*H*W bytes, planar per image.
    public let pixels: [UInt8]
    public let labels: [Int]
    public let classes: Int
    public let classNames: [String]
    public let imageShape: (channels: Int, height: Int, width: Int)
    public var count: Int { labels.count }

    /// - Parameters:
    ///   - pixels: N*C*H*W bytes (planar per image).
    ///   - labels: N labels in 0..<classes.
    ///   - shape: (C, H, W) of one image.
    ///   - classes: number of classes.
    ///   - classNames: names (default "0", "1", ...).
    ///   - source: what to name in errors (file or data set name).
    public init(pixels: [UInt8], labels: [Int], shape: (channels: Int, height: Int, width: Int),
                classes: Int, classNames: [String]? = nil, source: String) throws {
        let per = shape.channels * shape.height * shape.width
        guard per > 0 else { throw EngineError.invalidArgument("\(source): empty image shape \(shape)") }
        guard pixels.count == per * labels.count else {
            throw EngineError.io("\(source): \(labels.count) labels but \(pixels.count / per) images")
        }
        if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
            throw EngineError.io("\(source): label \(bad) outside 0..<\(classes)")
        }
        self.pixels = pixels
        self.labels = labels
        self.imageShape = shape
        self.classes = classes
        self.classNames = classNames ?? (0..<classes).map(String.init)
    }

    public func load(_ index: Int, into out: UnsafeMutablePointer<Float>) throws -> Int {
        try checkIndex(index)
        let per = imageShape.channels * imageShape.height * imageShape.width
        pixels.withUnsafeBufferPointer { p in
            PixelImage.unitLUT.withUnsafeBufferPointer { lutp in
                guard let base = p.baseAddress, let lut = lutp.baseAddress else { return }
                let src = base + index * per
                for i in 0..<per { out[i] = lut[Int(src[i])] }
            }
        }
        return labels[index]
    }

    public func loadPixels(_ index: Int) throws -> (image: PixelImage, label: Int) {
        try checkIndex(index)
        let (c, h, w) = imageShape
        var img = PixelImage(width: w, height: h, channels: c)
        let plane = h * w
        pixels.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return }
            let src = base + index * c * plane
            img.pixels.withUnsafeMutableBufferPointer { o in
                guard let dst = o.baseAddress else { return }
                if c == 1 { dst.update(from: src, count: plane); return }
                for ch in 0..<c { for i in 0..<plane { dst[i * c + ch] = src[ch * plane + i] } }
            }
        }
        return (img, labels[index])
    }

    public func label(_ index: Int) throws -> Int {
        try checkIndex(index)
        return labels[index]
    }
}

/// An in-memory data set of float images (N, C, H, W) in [0, 1] (float .npy arrays).
public final class FloatDataset: Dataset {
    public let values: [Float]
    public let labels: [Int]
    public let classes: Int
    public let classNames: [String]
    public let imageShape: (channels: Int, height: Int, width: Int)
    public var count: Int { labels.count }

    /// - Parameters:
    ///   - values: N*C*H*W floats in [0, 1] (planar per image).
    ///   - labels: N labels in 0..<classes.
    ///   - shape: (C, H, W).
    ///   - classes: number of classes.
    ///   - source: what to name in errors.
    public init(values: [Float], labels: [Int], shape: (channels: Int, height: Int, width: Int),
                classes: Int, source: String) throws {
        let per = shape.channels * shape.height * shape.width
        guard per > 0 else { throw EngineError.invalidArgument("\(source): empty image shape") }
        guard values.count == per * labels.count else {
            throw EngineError.io("\(source): \(labels.count) labels but \(values.count / per) images")
        }
        if let bad = labels.first(where: { $0 < 0 || $0 >= classes }) {
            throw EngineError.io("\(source): label \(bad) outside 0..<\(classes)")
        }
        self.values = values
        self.labels = labels
        self.imageShape = shape
        self.classes = classes
        self.classNames = (0..<classes).map(String.init)
    }

    public func load(_ index: Int, into out: UnsafeMutablePointer<Float>) throws -> Int {
        try checkIndex(index)
        let per = imageShape.channels * imageShape.height * imageShape.width
        values.withUnsafeBufferPointer { p in
            if let base = p.baseAddress { out.update(from: base + index * per, count: per) }
        }
        return labels[index]
    }

    public func label(_ index: Int) throws -> Int {
        try checkIndex(index)
        return labels[index]
    }
}
