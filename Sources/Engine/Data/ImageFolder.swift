// image_folder: the ImageNet layout, one sub-folder per class (sorted names = class indices), JPEG
// and PNG files read lazily: only the file list is held in memory; each access decodes one file.
import Foundation
import Tensor

/// A folder of class folders of JPEG/PNG images, decoded on demand (RGB).
public final class ImageFolderDataset: Dataset {
    public let root: String
    public let files: [String]
    public let labels: [Int]
    public let classNames: [String]
    /// Side of the evaluation view `load` produces (resize to floor(size / 0.875), centre crop).
    public let size: Int
    public var classes: Int { classNames.count }
    public var count: Int { files.count }
    public var imageShape: (channels: Int, height: Int, width: Int) { (3, size, size) }

    static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    /// - Parameters:
    ///   - root: folder with one sub-folder per class.
    ///   - size: side of the images `load` returns.
    public init(root: String, size: Int = 224) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw EngineError.io("image_folder: \(root) is not a folder")
        }
        guard size >= 1, size <= 4096 else { throw EngineError.invalidArgument("image_folder: size must be in 1...4096, got \(size)") }
        let entries = try fm.contentsOfDirectory(atPath: root).filter { !$0.hasPrefix(".") }.sorted()
        let classDirs = entries.filter { var d: ObjCBool = false; return fm.fileExists(atPath: root + "/" + $0, isDirectory: &d) && d.boolValue }
        guard !classDirs.isEmpty else {
            throw EngineError.io("image_folder: \(root) has no class sub-folders (expected root/<class>/<image>.jpg)")
        }
        var files = [String](), labels = [Int]()
        for (k, name) in classDirs.enumerated() {
            let dir = root + "/" + name
            guard let e = fm.enumerator(atPath: dir) else { throw EngineError.io("image_folder: cannot list \(dir)") }
            var found = [String]()
            while let f = e.nextObject() as? String {
                if Self.extensions.contains((f as NSString).pathExtension.lowercased()) { found.append(dir + "/" + f) }
            }
            guard !found.isEmpty else {
                throw EngineError.io("image_folder: class folder \(dir) has no .jpg, .jpeg or .png images")
            }
            found.sort()
            files += found
            labels += [Int](repeating: k, count: found.count)
        }
        self.root = root
        self.files = files
        self.labels = labels
        self.classNames = classDirs
        self.size = size
    }

    public func loadPixels(_ index: Int) throws -> (image: PixelImage, label: Int) {
        try checkIndex(index)
        let img = try ImageFile.read(files[index], channels: 3)
        // The evaluation view resizes the short side to about `size`: an extremely elongated image
        // (1,000,000 x 1) would become gigapixels wide, so it is refused before resizing.
        let (nw, nh) = ResizeCenterCrop(size: size).resizedSize(width: img.width, height: img.height)
        guard nw.multipliedReportingOverflow(by: nh).partialValue <= ImageFile.maxPixels, nw < 1 << 31, nh < 1 << 31 else {
            throw EngineError.io("\(files[index]): an image of \(img.width)x\(img.height) pixels is too elongated to resize to \(size) pixels (it would take \(nw)x\(nh) pixels); crop it first")
        }
        return (img, labels[index])
    }

    public func load(_ index: Int, into out: UnsafeMutablePointer<Float>) throws -> Int {
        let (img, y) = try loadPixels(index)
        ResizeCenterCrop(size: size).apply(img).writeCHW(into: out)
        return y
    }

    public func label(_ index: Int) throws -> Int {
        try checkIndex(index)
        return labels[index]
    }
}

extension Datasets {
    /// An image folder (one sub-folder per class), read lazily.
    /// - Parameters:
    ///   - root: the folder.
    ///   - size: side of the evaluation view.
    public static func imageFolder(root: String, size: Int = 224) throws -> Dataset {
        try ImageFolderDataset(root: root, size: size)
    }

    /// `root/train` and `root/val` (or `root/test`) as the two splits, with the same classes.
    /// - Parameters:
    ///   - root: the folder holding train/ and val/ (or test/).
    ///   - size: side of the evaluation view.
    public static func imageFolderSplits(root: String, size: Int = 224) throws -> DataSplits {
        let fm = FileManager.default
        let testDir = fm.fileExists(atPath: root + "/val") ? root + "/val" : root + "/test"
        let train = try ImageFolderDataset(root: root + "/train", size: size)
        let test = try ImageFolderDataset(root: testDir, size: size)
        guard train.classNames == test.classNames else {
            throw EngineError.io("image_folder: \(root)/train and \(testDir) have different class folders")
        }
        return DataSplits(train: train, test: test)
    }
}
