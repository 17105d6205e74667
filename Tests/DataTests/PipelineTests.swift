// DataLoader and TrainPipeline: prefetch changes neither order nor content, determinism from the seed,
// resuming mid-epoch, workers, settings per epoch, and errors.
import Foundation
import XCTest
@testable import Engine
@testable import Tensor

final class PipelineTests: XCTestCase {
    func data() throws -> Dataset { try Datasets.synthetic(n: 64, classes: 4, image: 12, channels: 3, seed: 1).train }

    func pipeline(_ d: Dataset, prefetch: Int, workers: Int = 1, seed: UInt64 = 9) throws -> TrainPipeline {
        try TrainPipeline(dataset: d, batch: 8, seed: seed, size: 10, crop: .randomResized(), flip: true,
                          randAugment: RandAugmentConfig(magnitude: 9), randomErasing: 0.25,
                          mixup: MixupConfig(mixupAlpha: 0.8, cutmixAlpha: 1, prob: 1, switchProb: 0.5),
                          labelSmoothing: 0.1, prefetch: prefetch, workers: workers)
    }

    func same(_ a: [Batch], _ b: [Batch], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(x.labels, y.labels, file: file, line: line)
            XCTAssertEqual(x.images.shape, y.images.shape, file: file, line: line)
            XCTAssertEqual(x.images.toArray(), y.images.toArray(), file: file, line: line)
            XCTAssertEqual(x.targets?.toArray(), y.targets?.toArray(), file: file, line: line)
        }
    }

    func testPrefetchChangesNeitherOrderNorContent() throws {
        let d = try data()
        let inline = try pipeline(d, prefetch: 0).stream(epoch: 3).collect()
        let ahead = try pipeline(d, prefetch: 3).stream(epoch: 3).collect()
        let workers = try pipeline(d, prefetch: 2, workers: 2).stream(epoch: 3).collect()
        XCTAssertEqual(inline.count, 8)
        same(inline, ahead)
        same(inline, workers)
        XCTAssertEqual(inline[0].images.shape, [8, 3, 10, 10])
        XCTAssertEqual(inline[0].targets?.shape, [8, 4])
    }

    /// Data-parallel shards (docs/distributed.md): with mixing off, the shards of a batch of
    /// 2 x 4 are the halves of one process's batch of 8, image for image (each image keyed by
    /// its position in the epoch), and an epoch has the global batches' count.
    func testShardsAreSlicesOfTheWholeBatch() throws {
        let d = try data()
        func p(_ batch: Int) throws -> TrainPipeline {
            try TrainPipeline(dataset: d, batch: batch, seed: 5, size: 10, crop: .randomResized(), flip: true,
                              randAugment: RandAugmentConfig(magnitude: 9), randomErasing: 0.25)
        }
        let whole = try p(8).stream(epoch: 2, from: 1).collect()
        let halves = try (0..<2).map { r -> [Batch] in
            let s = try p(4)
            try s.shard(rank: r, of: 2)
            XCTAssertEqual(s.batchesPerEpoch, 8)
            XCTAssertEqual(s.identity.last?.1, "8")
            return try s.stream(epoch: 2, from: 1).collect()
        }
        XCTAssertEqual(whole.count, 7)
        for (k, w) in whole.enumerated() {
            let x = w.images.toArray(), per = x.count / 8
            XCTAssertEqual(halves[0][k].labels + halves[1][k].labels, w.labels)
            XCTAssertEqual(halves[0][k].images.toArray() + halves[1][k].images.toArray(), x)
            XCTAssertEqual(halves[1][k].images.toArray(), Array(x[(4 * per)...]))
        }
        XCTAssertThrowsError(try p(4).shard(rank: 2, of: 2))
        XCTAssertThrowsError(try p(40).shard(rank: 0, of: 2))
    }

    func testSeedEpochAndResume() throws {
        let d = try data()
        let a = try pipeline(d, prefetch: 2).stream(epoch: 1).collect()
        let b = try pipeline(d, prefetch: 2, seed: 10).stream(epoch: 1).collect()
        let c = try pipeline(d, prefetch: 2).stream(epoch: 2).collect()
        XCTAssertNotEqual(a[0].images.toArray(), b[0].images.toArray())
        XCTAssertNotEqual(a[0].images.toArray(), c[0].images.toArray())
        let resumed = try pipeline(d, prefetch: 2).stream(epoch: 1, from: 5).collect()
        same(Array(a[5...]), resumed)
        XCTAssertNil(try pipeline(d, prefetch: 2).stream(epoch: 1, from: 99).next())
        // every example appears once per epoch
        let plain = try TrainPipeline(dataset: d, batch: 8, seed: 3)
        let labels = try plain.stream(epoch: 0).collect().flatMap { $0.labels }
        XCTAssertEqual(labels.sorted(), try (0..<64).map { try d.label($0) }.sorted())
    }

    func testPlainPipelineReproducesStoredImages() throws {
        let d = try data()
        let p = try TrainPipeline(dataset: d, batch: 4, seed: 0, prefetch: 1)
        let order = try DataLoader(count: 64, batch: 4, shuffle: true, seed: 0, dropLast: true, prefetch: 0) { _, _, _ in
            Batch(images: Tensor(zeros: [1]), labels: [])
        }.order(epoch: 0)
        let b = try XCTUnwrap(try p.stream(epoch: 0).next())
        XCTAssertNil(b.targets)
        let (x, y) = try d.example(order[0])
        XCTAssertEqual(b.labels[0], y)
        XCTAssertEqual(Array(b.images.toArray()[0..<x.count]), x.toArray())
    }

    func testSettingsPerEpochAndConfigure() throws {
        let d = try data()
        let p = try TrainPipeline(dataset: d, batch: 8, seed: 1)
        try p.configure(AugmentSettings(randAugmentMagnitude: 3, mixupAlpha: 0.8, mixProb: 0.5, labelSmoothing: 0.1))
        XCTAssertEqual(p.randAugment?.magnitude, 3)
        XCTAssertEqual(p.mixup?.prob, 0.5)
        let b = try XCTUnwrap(try p.batches(epoch: 0, from: 0).next())
        XCTAssertEqual(b.targets?.shape, [8, 4])
        // rows of soft targets sum to 1
        let t = try XCTUnwrap(b.targets).toArray()
        for i in 0..<8 { XCTAssertEqual(t[(i * 4)..<(i * 4 + 4)].reduce(0, +), 1, accuracy: 1e-5) }
        try p.configure(AugmentSettings())
        XCTAssertNil(p.randAugment)
        XCTAssertNil(p.mixup)
        XCTAssertNil(try p.batches(epoch: 0, from: 0).next()?.targets)
        // a pipeline built with augmentation keeps it where the recipe has none, and takes the recipe's where it has
        let own = try TrainPipeline(dataset: d, batch: 8, seed: 1, randAugment: RandAugmentConfig(magnitude: 7),
                                    mixup: MixupConfig(mixupAlpha: 0.4), labelSmoothing: 0.2)
        try own.configure(AugmentSettings(labelSmoothing: 0.1))
        XCTAssertEqual(own.randAugment?.magnitude, 7)
        XCTAssertEqual(own.mixup?.mixupAlpha, 0.4)
        XCTAssertEqual(own.labelSmoothing, 0.2)
        try own.configure(AugmentSettings(randAugmentMagnitude: 2, mixupAlpha: 0.8, mixProb: 0.6, labelSmoothing: 0.1))
        XCTAssertEqual(own.randAugment?.magnitude, 2)
        XCTAssertEqual(own.mixup?.prob, 0.6)
        XCTAssertEqual(own.labelSmoothing, 0.1)
        try own.configure(AugmentSettings())
        XCTAssertEqual(own.randAugment?.magnitude, 7)
        XCTAssertEqual(own.mixup?.prob, 1)
    }

    func testErrors() throws {
        let d = try data()
        assertThrows(["even batch size", "7"]) {
            _ = try TrainPipeline(dataset: d, batch: 7, seed: 0, mixup: MixupConfig())
        }
        assertThrows(["fewer than one batch"]) { _ = try TrainPipeline(dataset: d, batch: 100, seed: 0) }
        assertThrows(["magnitude"]) { _ = try TrainPipeline(dataset: d, batch: 8, seed: 0, randAugment: RandAugmentConfig(magnitude: -1)) }
        // a corrupt image inside an image folder surfaces from next(), naming the file
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adv-data-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(atPath: dir.path + "/a", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var img = PixelImage(width: 8, height: 8, channels: 3, value: 100)
        img.pixels[5] = 7
        for i in 0..<3 { try Data(try ImageFile.encodePNG(img)).write(to: dir.appendingPathComponent("a/\(i).png")) }
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]).write(to: dir.appendingPathComponent("a/3.png"))
        let f = try ImageFolderDataset(root: dir.path, size: 8)
        let p = try TrainPipeline(dataset: f, batch: 4, seed: 0, size: 8, crop: .randomResized(), prefetch: 2)
        assertThrows(["3.png", "PNG"]) { _ = try p.stream(epoch: 0).collect() }
    }

    func testDataLoaderKeepsLastPartialBatchForEvaluation() throws {
        let d = try data().subset(10)
        let l = try DataLoader(dataset: d, batch: 4)
        let bs = try l.batches(epoch: 0).collect()
        XCTAssertEqual(bs.map { $0.labels.count }, [4, 4, 2])
        XCTAssertEqual(l.batchesPerEpoch, 3)
    }

    func testDroppingAStreamStopsItsThread() throws {
        let d = try data()
        for _ in 0..<20 {
            let s = try pipeline(d, prefetch: 4).stream(epoch: 0)
            _ = try s.next()
        }
    }
}
