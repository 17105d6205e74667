// DataBench: images/s of the full training augmentation pipeline (decode -> random resized crop ->
// flip -> RandAugment m9-mstd0.5 -> float -> mixup/CutMix + smoothed soft targets), for
// Fashion-MNIST at 32x32 and for JPEGs at 224 (written synthetically at bench time), on one thread
// (prefetch off, what one prefetch thread sustains) and with 2 workers.
import Engine
import Tensor
import Foundation

struct DataBench: BenchSection {
    let name = "data"

    /// CPU seconds used by the whole process so far (all threads).
    static func cpuTime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// (images per wall-clock second, images per CPU second) over `steps` batches of epoch 1.
    /// CPU seconds make runs comparable on a loaded machine.
    func rate(_ p: TrainPipeline, steps: Int) throws -> (wall: Double, cpu: Double) {
        let t0 = Bench.now(), c0 = DataBench.cpuTime()
        let s = try p.stream(epoch: 1)
        var n = 0
        for _ in 0..<steps {
            guard let b = try s.next() else { break }
            n += b.labels.count
        }
        return (Double(n) / (Bench.now() - t0), Double(n) / (DataBench.cpuTime() - c0))
    }

    func pipeline(_ d: Dataset, batch: Int, size: Int, workers: Int) throws -> TrainPipeline {
        try TrainPipeline(dataset: d, batch: batch, seed: 1, size: size, crop: .randomResized(), flip: true,
                          randAugment: RandAugmentConfig(magnitude: 9, std: 0.5),
                          mixup: MixupConfig(mixupAlpha: 0.8, cutmixAlpha: 1, prob: 1, switchProb: 0.5),
                          labelSmoothing: 0.1, prefetch: 0, workers: workers)
    }

    func run(_ ctx: BenchContext) throws {
        print("\n## Data pipeline (images/s; random resized crop, flip, RandAugment m9-mstd0.5, mixup/CutMix, smoothing)\n")
        var table = Table(["data", "output", "batch", "threads", "images/s", "ms/batch", "images/CPU-s"])

        // Fashion-MNIST (the real files when installed; otherwise a synthetic 1x28x28 stand-in)
        var fm: Dataset
        var label = "Fashion-MNIST 28->32"
        if let d = try? Datasets.fashionMNIST(size: 32) { fm = d.train } else {
            fm = try Datasets.synthetic(n: 4096, classes: 10, image: 28, channels: 1, seed: 0).train
            fm = try ResizedDataset(base: fm, size: 32, mode: .bilinear)
            label = "synthetic 1x28->32 (Fashion-MNIST not installed)"
        }
        let steps32 = max(4, Int(ctx.budget * 40))
        for w in [1, 2] {
            let r = try rate(try pipeline(fm, batch: 128, size: 32, workers: w), steps: steps32)
            table.add([label, "1x32x32", "128", "\(w)", fmt(r.wall, 0), fmt(128 / r.wall * 1000, 1), fmt(r.cpu, 0)])
        }

        // JPEGs at 224: 48 synthetic 500x375 photo-sized images (texture + noise), quality 90
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("advbench-jpeg-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let rng = RNG(seed: 3)
        var bytes = 0
        for k in 0..<48 {
            let cls = dir.appendingPathComponent("c\(k % 4)")
            try FileManager.default.createDirectory(at: cls, withIntermediateDirectories: true)
            var img = PixelImage(width: 500, height: 375, channels: 3)
            let f = 0.02 + 0.01 * Double(k % 5)
            let sx = (0..<(500 + 14)).map { sin(f * Double($0)) }
            let cy = (0..<375).map { cos(0.013 * Double($0 * (k + 1))) }
            for y in 0..<375 { for x in 0..<500 { for c in 0..<3 {
                let v = 128 + 60 * sx[x + 7 * c] * cy[y] + Double(rng.int(24)) - 12
                img.pixels[(y * 500 + x) * 3 + c] = UInt8(max(0, min(255, v)))
            } } }
            let jpg = try ImageFile.encodeJPEG(img, quality: 90)
            bytes += jpg.count
            try Data(jpg).write(to: cls.appendingPathComponent("\(k).jpg"))
        }
        let folder = try ImageFolderDataset(root: dir.path, size: 224)
        let t0 = Bench.now(), c0 = DataBench.cpuTime()
        for i in 0..<folder.count { _ = try folder.loadPixels(i) }
        let decode = Double(folder.count) / (Bench.now() - t0)
        let decodeCPU = Double(folder.count) / (DataBench.cpuTime() - c0)
        for w in [1, 2] {
            let r = try rate(try pipeline(folder, batch: 16, size: 224, workers: w), steps: 3)
            table.add(["JPEG 500x375 (\(bytes / 48 / 1024) KB)", "3x224x224", "16", "\(w)", fmt(r.wall, 0), fmt(16 / r.wall * 1000, 1), fmt(r.cpu, 0)])
        }
        table.add(["JPEG 500x375 decode only", "-", "-", "1", fmt(decode, 0), "-", fmt(decodeCPU, 0)])
        print(table.render())
    }
}
