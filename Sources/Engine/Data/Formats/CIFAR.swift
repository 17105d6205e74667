// CIFAR-10 and CIFAR-100, binary versions (https://www.cs.toronto.edu/~kriz/cifar.html):
// records of <label byte(s)> + 3072 pixel bytes (1024 red, 1024 green, 1024 blue, row-major 32x32).
import Foundation
import Tensor

extension Datasets {
    /// CIFAR-10 (binary version): 50,000 training and 10,000 test images, 3 x 32 x 32.
    /// - Parameters:
    ///   - root: the cifar-10-batches-bin folder, or a folder that contains it.
    public static func cifar10(root: String) throws -> DataSplits {
        let dir = locate(root, "cifar-10-batches-bin", marker: "test_batch.bin")
        let names = classNames(dir + "/batches.meta.txt", count: 10)
            ?? ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        let train = try (1...5).map { try readCIFAR(dir + "/data_batch_\($0).bin", labelBytes: 1, labelIndex: 0, classes: 10) }
        let test = try readCIFAR(dir + "/test_batch.bin", labelBytes: 1, labelIndex: 0, classes: 10)
        return DataSplits(
            train: try ByteDataset(pixels: train.flatMap { $0.pixels }, labels: train.flatMap { $0.labels },
                                   shape: (3, 32, 32), classes: 10, classNames: names, source: dir),
            test: try ByteDataset(pixels: test.pixels, labels: test.labels, shape: (3, 32, 32), classes: 10,
                                  classNames: names, source: dir + "/test_batch.bin"))
    }

    /// CIFAR-100 (binary version): 50,000 / 10,000 images, 100 fine classes (or 20 coarse).
    /// - Parameters:
    ///   - root: the cifar-100-binary folder, or a folder that contains it.
    ///   - coarse: use the 20 superclass labels instead of the 100 fine ones.
    public static func cifar100(root: String, coarse: Bool = false) throws -> DataSplits {
        let dir = locate(root, "cifar-100-binary", marker: "test.bin")
        let k = coarse ? 20 : 100
        let names = classNames(dir + (coarse ? "/coarse_label_names.txt" : "/fine_label_names.txt"), count: k)
        let train = try readCIFAR(dir + "/train.bin", labelBytes: 2, labelIndex: coarse ? 0 : 1, classes: k)
        let test = try readCIFAR(dir + "/test.bin", labelBytes: 2, labelIndex: coarse ? 0 : 1, classes: k)
        return DataSplits(
            train: try ByteDataset(pixels: train.pixels, labels: train.labels, shape: (3, 32, 32), classes: k,
                                   classNames: names, source: dir + "/train.bin"),
            test: try ByteDataset(pixels: test.pixels, labels: test.labels, shape: (3, 32, 32), classes: k,
                                  classNames: names, source: dir + "/test.bin"))
    }

    static func locate(_ root: String, _ sub: String, marker: String) -> String {
        let nested = root + "/" + sub
        if FileManager.default.fileExists(atPath: nested + "/" + marker) { return nested }
        return root
    }

    static func classNames(_ path: String, count: Int) -> [String]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return names.count == count ? names : nil
    }

    /// Reads one CIFAR binary file: checks the size is a whole number of records and every label.
    /// - Parameters:
    ///   - path: the .bin file.
    ///   - labelBytes: 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine).
    ///   - labelIndex: which label byte to use.
    ///   - classes: labels must be below this.
    public static func readCIFAR(_ path: String, labelBytes: Int, labelIndex: Int, classes: Int) throws -> (pixels: [UInt8], labels: [Int]) {
        let hint = "download the binary version from https://www.cs.toronto.edu/~kriz/cifar.html and unpack it"
        let bytes = try FileBytes.read(path, limit: 400 << 20, hint: hint)
        let rec = labelBytes + 3072
        guard !bytes.isEmpty, bytes.count % rec == 0 else {
            throw EngineError.io("\(path) is truncated or not a CIFAR binary file: \(bytes.count) bytes is not a whole number of \(rec)-byte records")
        }
        let n = bytes.count / rec
        var pixels = [UInt8](repeating: 0, count: n * 3072)
        var labels = [Int](repeating: 0, count: n)
        try bytes.withUnsafeBufferPointer { src in
            try pixels.withUnsafeMutableBufferPointer { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                for i in 0..<n {
                    let l = Int(s[i * rec + labelIndex])
                    guard l < classes else {
                        throw EngineError.io("\(path): record \(i) has label \(l), outside 0..<\(classes) (corrupt file?)")
                    }
                    labels[i] = l
                    (d + i * 3072).update(from: s + i * rec + labelBytes, count: 3072)
                }
            }
        }
        return (pixels, labels)
    }
}
