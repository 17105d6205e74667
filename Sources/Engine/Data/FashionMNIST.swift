// Fashion-MNIST and MNIST: four gzipped IDX files each (train/t10k images and labels).
// Debian's dataset-fashion-mnist package installs Fashion-MNIST under /usr/share/datasets/fashion-mnist.

/// Constructors of the built-in data sets (docs/data-api.md).
public enum Datasets {
    /// Where Debian's dataset-fashion-mnist package puts the files.
    public static let fashionMNISTRoot = "/usr/share/datasets/fashion-mnist"

    public static let fashionMNISTClasses = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// Fashion-MNIST: 60,000 training and 10,000 test images, 1 x 28 x 28, 10 classes.
    /// - Parameters:
    ///   - root: the folder holding train-images-idx3-ubyte.gz and the other three files.
    ///   - size: optional new side (resized or padded, see `resize`).
    ///   - resize: `.bilinear` (default) or `.pad` (centred zero padding).
    public static func fashionMNIST(root: String = fashionMNISTRoot, size: Int? = nil,
                                    resize: ResizeMode = .bilinear) throws -> DataSplits {
        try idxPair(root: root, size: size, resize: resize, names: fashionMNISTClasses,
                    hint: root == fashionMNISTRoot
                        ? "install it with: sudo apt-get install dataset-fashion-mnist (or `make deps`)"
                        : "download the four Fashion-MNIST .gz files from github.com/zalandoresearch/fashion-mnist into \(root)")
    }

    /// MNIST digits: the same four IDX file names, 10 classes "0"..."9".
    /// - Parameters:
    ///   - root: the folder with the MNIST files.
    ///   - size: optional new side.
    ///   - resize: `.bilinear` or `.pad`.
    public static func mnist(root: String, size: Int? = nil, resize: ResizeMode = .bilinear) throws -> DataSplits {
        try idxPair(root: root, size: size, resize: resize, names: (0..<10).map(String.init),
                    hint: "put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (gzipped or not) in \(root)")
    }

    static func idxPair(root: String, size: Int?, resize: ResizeMode, names: [String], hint: String) throws -> DataSplits {
        func part(_ prefix: String) throws -> Dataset {
            let imgPath = findFile(root, "\(prefix)-images-idx3-ubyte")
            let lblPath = findFile(root, "\(prefix)-labels-idx1-ubyte")
            let images = try IDXArray.read(imgPath, hint: hint)
            let labels = try IDXArray.read(lblPath, hint: hint)
            guard images.dims.count == 3 else {
                throw EngineError.io("\(imgPath): expected 3 dimensions (N, H, W), got \(images.dims)")
            }
            guard labels.dims.count == 1 else {
                throw EngineError.io("\(lblPath): expected 1 dimension (N), got \(labels.dims)")
            }
            guard images.dims[0] == labels.dims[0] else {
                throw EngineError.io("\(imgPath) has \(images.dims[0]) images but \(lblPath) has \(labels.dims[0]) labels")
            }
            if let bad = labels.values.first(where: { Int($0) >= names.count }) {
                throw EngineError.io("\(lblPath): label \(bad) outside 0..<\(names.count)")
            }
            var d: Dataset = try ByteDataset(pixels: images.values, labels: labels.values.map(Int.init),
                                             shape: (1, images.dims[1], images.dims[2]), classes: names.count,
                                             classNames: names, source: imgPath)
            if let s = size, s != images.dims[1] || s != images.dims[2] {
                d = try ResizedDataset(base: d, size: s, mode: resize)
            }
            return d
        }
        return DataSplits(train: try part("train"), test: try part("t10k"))
    }

    /// `root/name.gz` when present, else `root/name` (the plain file, or the .gz path for the error).
    static func findFile(_ root: String, _ name: String) -> String {
        let gz = root + "/" + name + ".gz", plain = root + "/" + name
        if FileManagerShim.exists(gz) { return gz }
        if FileManagerShim.exists(plain) { return plain }
        return gz
    }
}

import Foundation
import Tensor
enum FileManagerShim {
    static func exists(_ p: String) -> Bool { FileManager.default.fileExists(atPath: p) }
}
