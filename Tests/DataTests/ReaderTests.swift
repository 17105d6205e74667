// Readers against the small committed samples (scripts/fixtures/gen_data.py), broken ones included.
import Foundation
import XCTest
@testable import Engine
@testable import Tensor

final class ReaderTests: XCTestCase {
    func testMNISTLayoutLoadsGzippedAndPlainIDX() throws {
        let d = try Datasets.mnist(root: try Fixture.path("files/mnist"))
        XCTAssertEqual(d.train.count, 5)
        XCTAssertEqual(d.test.count, 3)
        XCTAssertEqual(d.train.imageShape.height, 4)
        XCTAssertEqual(d.train.imageShape.width, 3)
        XCTAssertEqual(try (0..<5).map { try d.train.label($0) }, [3, 1, 4, 1, 5])
        XCTAssertEqual(try (0..<3).map { try d.test.label($0) }, [9, 2, 6])
        let expect = try NPYArray.read(try Fixture.path("files/mnist_train_x.npy"))
        guard case .bytes(let px) = expect.storage else { return XCTFail("fixture is uint8") }
        let (img, y) = try d.train.example(2)
        XCTAssertEqual(y, 4)
        XCTAssertEqual(img.shape, [1, 4, 3])
        XCTAssertEqual(img.toArray(), px[24..<36].map { Float($0) / 255 })
    }

    func testMNISTPaddedAndResized() throws {
        let root = try Fixture.path("files/mnist")
        let padded = try Datasets.mnist(root: root, size: 6, resize: .pad)
        XCTAssertEqual(padded.train.imageShape.height, 6)
        let (p, _) = try padded.train.example(0)
        let (o, _) = try Datasets.mnist(root: root).train.example(0)
        // 4x3 centred in 6x6: rows 1..4, columns 1..3
        for r in 0..<4 { for c in 0..<3 { XCTAssertEqual(p.toArray()[(r + 1) * 6 + c + 1], o.toArray()[r * 3 + c]) } }
        XCTAssertEqual(p.toArray()[0], 0)
        let resized = try Datasets.mnist(root: root, size: 8)
        let (r, _) = try resized.train.example(1)
        XCTAssertEqual(r.shape, [1, 8, 8])
        XCTAssertTrue(r.toArray().allSatisfy { $0 >= 0 && $0 <= 1 })
        assertThrows(["cannot pad", "smaller"]) { _ = try Datasets.mnist(root: root, size: 2, resize: .pad) }
    }

    func testBrokenIDXFilesGiveClearErrors() throws {
        func read(_ name: String) throws { _ = try IDXArray.read(try Fixture.path("files/idx/" + name)) }
        assertThrows(["truncated.idx", "truncated", "need 60 bytes"]) { try read("truncated.idx") }
        assertThrows(["truncated.idx.gz"]) { try read("truncated.idx.gz") }
        assertThrows(["wrong_magic.idx", "magic"]) { try read("wrong_magic.idx") }
        assertThrows(["wrong_type.idx", "not supported"]) { try read("wrong_type.idx") }
        assertThrows(["header_only.idx", "truncated"]) { try read("header_only.idx") }
        assertThrows(["huge.idx"]) { try read("huge.idx") }
        assertThrows(["huge.idx.gz", "truncated"]) { try read("huge.idx.gz") }
        assertThrows(["not_gzip.gz"]) { try read("not_gzip.gz") }
        assertThrows(["trailing.idx", "trailing"]) { try read("trailing.idx") }
        assertThrows(["no-such-file.idx", "no such file", "my hint"]) {
            _ = try IDXArray.read(try Fixture.path("files/idx/no-such-file.idx"), hint: "my hint")
        }
        assertThrows(["5 images", "4 labels"]) { _ = try Datasets.mnist(root: try Fixture.path("files/mismatch")) }
    }

    func testMissingFashionMNISTNamesFileAndPackage() {
        assertThrows(["/nonexistent/fm/train-images-idx3-ubyte.gz", "no such file"]) {
            _ = try Datasets.fashionMNIST(root: "/nonexistent/fm")
        }
        // the default root names the Debian package (checked on the message builder, whatever is installed)
        let e = FileBytes.missing("/usr/share/datasets/fashion-mnist/x.gz", hint: "install it with: sudo apt-get install dataset-fashion-mnist")
        XCTAssertTrue(e.description.contains("dataset-fashion-mnist"))
    }

    func testCIFAR10And100() throws {
        let expected = try XCTUnwrap(try Fixture.json("files/cifar_expected.json") as? [String: Any])
        let c10 = try Datasets.cifar10(root: try Fixture.path("files/cifar10"))
        XCTAssertEqual(c10.train.count, 10)
        XCTAssertEqual(c10.test.count, 2)
        XCTAssertEqual(c10.train.classNames[9], "truck")
        let b2 = try XCTUnwrap(expected["data_batch_2"] as? [Any])
        let labels = try XCTUnwrap(b2[0] as? [Int]), firstPixels = try XCTUnwrap(b2[1] as? [[Int]])
        XCTAssertEqual(try c10.train.label(2), labels[0])
        XCTAssertEqual(try c10.train.label(3), labels[1])
        let (img, _) = try c10.train.example(3)
        XCTAssertEqual(img.shape, [3, 32, 32])
        XCTAssertEqual(Array(img.toArray()[0..<8]), firstPixels[1].map { Float($0) / 255 })

        let c100 = try Datasets.cifar100(root: try Fixture.path("files/cifar100"))
        let c100c = try Datasets.cifar100(root: try Fixture.path("files/cifar100/cifar-100-binary"), coarse: true)
        let t = try XCTUnwrap(expected["c100_test"] as? [Any])
        XCTAssertEqual(c100.classes, 100)
        XCTAssertEqual(c100c.classes, 20)
        XCTAssertEqual(try (0..<3).map { try c100.test.label($0) }, try XCTUnwrap(t[1] as? [Int]))
        XCTAssertEqual(try (0..<3).map { try c100c.test.label($0) }, try XCTUnwrap(t[0] as? [Int]))

        assertThrows(["short.bin", "not a whole number"]) {
            _ = try Datasets.readCIFAR(try Fixture.path("files/cifar_bad/short.bin"), labelBytes: 1, labelIndex: 0, classes: 10)
        }
        assertThrows(["badlabel.bin", "label 200"]) {
            _ = try Datasets.readCIFAR(try Fixture.path("files/cifar_bad/badlabel.bin"), labelBytes: 1, labelIndex: 0, classes: 10)
        }
        assertThrows(["data_batch_1.bin", "no such file", "cifar.html"]) { _ = try Datasets.cifar10(root: "/nonexistent") }
    }

    func testNPYImagesAndLabels() throws {
        let p = { (n: String) in try Fixture.path("files/npy/" + n) }
        let a = try Datasets.npy(images: try p("x_nhwc_u8.npy"), labels: try p("y_i64.npy"))
        let b = try Datasets.npy(images: try p("x_nchw_f32.npy"), labels: try p("y_i64.npy"))
        XCTAssertEqual(a.count, 4)
        XCTAssertEqual(a.classes, 3)
        XCTAssertEqual(a.imageShape.channels, 3)
        XCTAssertEqual(a.imageShape.height, 5)
        XCTAssertEqual(a.imageShape.width, 6)
        for i in 0..<4 {
            let (x, y) = try a.example(i), (x2, y2) = try b.example(i)
            XCTAssertEqual(y, y2)
            for (u, v) in zip(x.toArray(), x2.toArray()) { XCTAssertEqual(u, v, accuracy: 1e-6) }
        }
        assertThrows(["4 images", "3 labels"]) { _ = try Datasets.npy(images: try p("x_nhwc_u8.npy"), labels: try p("y_short.npy")) }
        assertThrows(["x_f64_out_of_range.npy", "[0, 1]"]) { _ = try Datasets.npy(images: try p("x_f64_out_of_range.npy"), labels: try p("y_i64.npy")) }
        assertThrows(["truncated.npy", "truncated"]) { _ = try NPYArray.read(try p("truncated.npy")) }
        assertThrows(["bad_magic.npy", "magic"]) { _ = try NPYArray.read(try p("bad_magic.npy")) }
        assertThrows(["huge.npy"]) { _ = try NPYArray.read(try p("huge.npy")) }
    }

    func testPNGAndJPEGDecodeLikePillow() throws {
        let png = try ImageFile.read(try Fixture.path("files/folder/cat/b.png"))
        let expect = try NPYArray.read(try Fixture.path("files/folder_png_b.npy"))
        guard case .bytes(let px) = expect.storage else { return XCTFail("uint8 fixture") }
        XCTAssertEqual(png.width, 9)
        XCTAssertEqual(png.height, 12)
        XCTAssertEqual(png.pixels, px) // PNG is lossless: exact
        let jpg = try ImageFile.read(try Fixture.path("files/folder/cat/a.jpg"))
        let ej = try NPYArray.read(try Fixture.path("files/folder_jpg_a.npy"))
        guard case .bytes(let pj) = ej.storage else { return XCTFail("uint8 fixture") }
        XCTAssertEqual(jpg.width, 20)
        XCTAssertEqual(jpg.height, 14)
        // Pillow bundles its own libjpeg-turbo; the IDCT may differ by a level at most
        XCTAssertLessThanOrEqual(byteDiff(jpg.pixels, pj).max, 2)
        let rgba = try ImageFile.read(try Fixture.path("files/rgba.png"))
        let er = try NPYArray.read(try Fixture.path("files/rgba_as_rgb.npy"))
        guard case .bytes(let pr) = er.storage else { return XCTFail("uint8 fixture") }
        XCTAssertEqual(rgba.pixels, pr) // alpha dropped, colours kept
        let gj = try ImageFile.read(try Fixture.path("files/gray.jpg"), channels: 3)
        let eg = try NPYArray.read(try Fixture.path("files/gray_jpg_as_rgb.npy"))
        guard case .bytes(let pg) = eg.storage else { return XCTFail("uint8 fixture") }
        XCTAssertEqual(gj.channels, 3)
        XCTAssertLessThanOrEqual(byteDiff(gj.pixels, pg).max, 2)
        XCTAssertEqual(try ImageFile.read(try Fixture.path("files/gray.jpg"), channels: 0).channels, 1)
        assertThrows(["cmyk.jpg", "JPEG"]) { _ = try ImageFile.read(try Fixture.path("files/cmyk.jpg")) }
        let gray = try ImageFile.read(try Fixture.path("files/folder/dog/gray.png"), channels: 3)
        XCTAssertEqual(gray.channels, 3)
        XCTAssertEqual(gray.pixels[0], gray.pixels[1])
    }

    func testBrokenImagesNameTheFile() throws {
        for (name, what) in [("truncated.jpg", "JPEG"), ("truncated.png", "PNG"), ("garbage.jpg", "JPEG"),
                             ("not_an_image.png", "neither"), ("huge.png", "huge.png")] {
            assertThrows([name, what]) { _ = try ImageFile.read(try Fixture.path("files/broken_images/" + name)) }
        }
    }

    func testJPEGAndPNGRoundTrip() throws {
        var img = PixelImage(width: 16, height: 8, channels: 3)
        for i in 0..<img.pixels.count { img.pixels[i] = UInt8((i * 7) % 256) }
        XCTAssertEqual(try ImageFile.decode(try ImageFile.encodePNG(img), source: "mem"), img)
        let j = try ImageFile.decode(try ImageFile.encodeJPEG(img, quality: 95), source: "mem")
        XCTAssertEqual(j.width, 16)
        XCTAssertEqual(j.channels, 3)
    }

    func testImageFolderIsLazyAndSorted() throws {
        let d = try ImageFolderDataset(root: try Fixture.path("files/folder"), size: 8)
        XCTAssertEqual(d.classNames, ["cat", "dog"])
        XCTAssertEqual(d.count, 3)
        XCTAssertEqual(try (0..<3).map { try d.label($0) }, [0, 0, 1])
        let (x, y) = try d.example(2)
        XCTAssertEqual(y, 1)
        XCTAssertEqual(x.shape, [3, 8, 8])
        let (raw, _) = try d.loadPixels(0)
        XCTAssertEqual(raw.width, 20)
        // git keeps no empty folders, so the empty class folder is made here
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("adv-empty-class-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: tmp) }
        try FileManager.default.createDirectory(at: tmp.appendingPathComponent("empty"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: tmp.appendingPathComponent("full"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try Fixture.path("files/folder/cat/b.png"), toPath: tmp.appendingPathComponent("full/b.png").path)
        assertThrows(["empty", "has no .jpg"]) { _ = try ImageFolderDataset(root: tmp.path) }
        assertThrows(["not a folder"]) { _ = try ImageFolderDataset(root: "/nonexistent/folder") }
    }

    func testSubsetSplitAndIndexErrors() throws {
        let d = try Datasets.synthetic(n: 50, classes: 5, image: 8, channels: 1, seed: 3).train
        let s = try d.subset(10)
        XCTAssertEqual(s.count, 10)
        XCTAssertEqual(try s.label(7), try d.label(7))
        let (a, b) = try d.split(0.8, seed: 1)
        XCTAssertEqual(a.count, 40)
        XCTAssertEqual(b.count, 10)
        let ia = (a as? SubsetDataset)?.indices ?? [], ib = (b as? SubsetDataset)?.indices ?? []
        XCTAssertEqual(Set(ia + ib).count, 50)
        assertThrows(["index 50", "50 images"]) { _ = try d.example(50) }
        assertThrows(["subset size 0"]) { _ = try d.subset(0) }
        assertThrows(["split fraction"]) { _ = try d.split(1.5) }
    }

    func testSyntheticIsDeterministicAndClassDependent() throws {
        let a = try Datasets.synthetic(n: 40, classes: 4, image: 16, channels: 3, seed: 7)
        let b = try Datasets.synthetic(n: 40, classes: 4, image: 16, channels: 3, seed: 7)
        let c = try Datasets.synthetic(n: 40, classes: 4, image: 16, channels: 3, seed: 8)
        XCTAssertEqual((a.train as? ByteDataset)?.pixels, (b.train as? ByteDataset)?.pixels)
        XCTAssertNotEqual((a.train as? ByteDataset)?.pixels, (c.train as? ByteDataset)?.pixels)
        XCTAssertEqual(a.test.count, 8)
        XCTAssertEqual(Set(try (0..<40).map { try a.train.label($0) }), Set(0..<4))
        assertThrows(["channels must be 1 or 3"]) { _ = try Datasets.synthetic(n: 4, channels: 2) }
    }

    /// The real Fashion-MNIST from Debian's dataset-fashion-mnist (skipped when not installed).
    func testRealFashionMNIST() throws {
        let root = Datasets.fashionMNISTRoot
        guard FileManager.default.fileExists(atPath: root + "/train-images-idx3-ubyte.gz") else {
            throw XCTSkip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
        }
        let d = try Datasets.fashionMNIST(size: 32)
        XCTAssertEqual(d.train.count, 60_000)
        XCTAssertEqual(d.test.count, 10_000)
        XCTAssertEqual(d.train.classes, 10)
        XCTAssertEqual(d.train.imageShape.height, 32)
        // the published first labels: train 9 0 0 3 0, test 9 2 1 1 6
        XCTAssertEqual(try (0..<5).map { try d.train.label($0) }, [9, 0, 0, 3, 0])
        XCTAssertEqual(try (0..<5).map { try d.test.label($0) }, [9, 2, 1, 1, 6])
        XCTAssertEqual(d.train.classNames[9], "Ankle boot")
    }
}
