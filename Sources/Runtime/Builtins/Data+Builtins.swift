// Builtins: data sets (fashion_mnist, mnist, cifar10, cifar100, image_folder, npy, synthetic) and the
// training input pipeline (pipeline, randaugment, mixup). Engine side: Sources/Engine/Data.
import Engine
import Tensor
import Foundation

enum DataBuiltins {
    static func splits(_ s: DataSplits) -> Value {
        .record(RecordBox([("train", .object(DatasetObject(s.train))), ("test", .object(DatasetObject(s.test))),
                           ("classes", .number(Double(s.classes)))]))
    }

    static func resizeMode(_ a: Arguments) throws -> ResizeMode {
        try a.choice("resize", ["bilinear", "pad"], default: "bilinear") == "pad" ? .pad : .bilinear
    }

    /// The image side `image:` (alias `size:`, already renamed by `aliasing`), or nil.
    static func optionalSize(_ a: Arguments) throws -> Int? {
        guard a.has("image") else { return nil }
        let s = try a.int("image")
        guard s >= 1, s <= 4096 else { throw RuntimeError.arguments("\(a.callee): image must be between 1 and 4096, got \(s)") }
        return s
    }

    /// A Dataset from a Dataset value or a {train, ...} record (its train split).
    static func dataset(_ a: Arguments, _ name: String, at: Int?) throws -> Dataset {
        guard let v = a.value(name, at: at) else { throw RuntimeError.arguments("\(a.callee): missing argument '\(name)'") }
        if case .object(let o) = v, let d = o as? DatasetObject { return d.dataset }
        if case .record(let r) = v, case .object(let o)? = r["train"], let d = o as? DatasetObject { return d.dataset }
        throw RuntimeError.type("\(a.callee): argument '\(name)' must be a Dataset or a {train, test} record, got \(v.typeName)")
    }

    /// RandAugment settings from a RandAugment object, a timm string ("rand-m9-mstd0.5-inc1") or a magnitude.
    static func randAugment(_ v: Value, callee: String) throws -> RandAugmentConfig? {
        switch v {
        case .nil_, .bool(false): return nil
        case .object(let o) where o is RandAugmentObject: return (o as? RandAugmentObject)?.config
        case .number(let m):
            let c = RandAugmentConfig(magnitude: m)
            try engine { try c.validate() }
            return c
        case .string(let s): return try parseTimm(s, callee: callee)
        default:
            throw RuntimeError.type("\(callee): randaugment must be randaugment(...), a timm string like \"rand-m9-mstd0.5-inc1\", a magnitude or nil, got \(v.typeName)")
        }
    }

    /// timm's RandAugment config string: rand-m<M>-n<N>-mstd<S>-p<P>-inc1.
    static func parseTimm(_ s: String, callee: String) throws -> RandAugmentConfig {
        let parts = s.split(separator: "-").map(String.init)
        guard parts.first == "rand" else {
            throw RuntimeError.arguments("\(callee): \"\(s)\" is not a RandAugment string (expected e.g. \"rand-m9-mstd0.5-inc1\")")
        }
        var c = RandAugmentConfig()
        var inc = false
        for p in parts.dropFirst() {
            func num(_ prefix: String) throws -> Double {
                guard let v = Double(p.dropFirst(prefix.count)) else {
                    throw RuntimeError.arguments("\(callee): bad field \"\(p)\" in \"\(s)\"")
                }
                return v
            }
            if p.hasPrefix("mstd") { c.std = try num("mstd") }
            else if p.hasPrefix("inc") { inc = try num("inc") != 0 }
            else if p.hasPrefix("m") { c.magnitude = try num("m") }
            else if p.hasPrefix("n") {
                let n = try num("n")
                guard n == n.rounded(), n >= 0, n <= 16 else {
                    throw RuntimeError.arguments("\(callee): the number of ops in \"\(s)\" must be a whole number in 0...16, got \(p.dropFirst())")
                }
                c.ops = Int(n)
            }
            else if p.hasPrefix("p") { c.prob = try num("p") }
            else { throw RuntimeError.arguments("\(callee): unsupported field \"\(p)\" in \"\(s)\" (supported: m, n, mstd, p, inc)") }
        }
        guard inc else {
            throw RuntimeError.arguments("\(callee): only the increasing op set (inc1) is implemented; write \"\(s)-inc1\"")
        }
        try engine { try c.validate() }
        return c
    }

    /// The `crop` argument: "none", "random_resized", "pad4" or a padding in pixels.
    static func cropMode(_ a: Arguments) throws -> CropMode {
        guard let v = a.value("crop") else { return .none }
        if case .number = v {
            let p = try a.int("crop")
            guard p >= 0, p <= 1024 else { throw RuntimeError.arguments("\(a.callee): crop padding must be in 0...1024, got \(p)") }
            return .pad(p)
        }
        switch try a.choice("crop", ["none", "random_resized", "pad4"], default: "none") {
        case "random_resized": return .randomResized()
        case "pad4": return .pad(4)
        default: return .none
        }
    }

    static func register(into t: inout BuiltinTable) {
        t.add("fashion_mnist", "fashion_mnist(image: nil, root: \"/usr/share/datasets/fashion-mnist\", resize: \"bilinear\")",
              doc: """
                  Fashion-MNIST, the default real data set: 60,000 training and 10,000 test images of
                  clothing, 1 x 28 x 28, 10 classes, read from the gzipped IDX files Debian's
                  dataset-fashion-mnist package installs (`make deps`).

                  `image` (alias `size`) shows the images at image x image, by bilinear resampling or, with resize: "pad",
                  centred zero padding (28 -> 32 adds 2 pixels per side). Returns a record {train, test,
                  classes} of Datasets.
                  """) { a, _ in
            let root = try a.string("root", default: Datasets.fashionMNISTRoot)
            let size = try optionalSize(a), mode = try resizeMode(a)
            return splits(try engine { try Datasets.fashionMNIST(root: root, size: size, resize: mode) })
        }

        t.add("mnist", "mnist(root, image: nil, resize: \"bilinear\")",
              doc: """
                  MNIST digits from the four IDX files (train-images-idx3-ubyte[.gz],
                  train-labels-idx1-ubyte[.gz], t10k-...) in folder `root`: 60,000 / 10,000 images, 1 x 28 x
                  28, 10 classes; `image` and `resize` as for fashion_mnist.

                  Returns {train, test, classes}.
                  """) { a, _ in
            let root = try a.string("root", at: 0)
            let size = try optionalSize(a), mode = try resizeMode(a)
            return splits(try engine { try Datasets.mnist(root: root, size: size, resize: mode) })
        }

        t.add("cifar10", "cifar10(root)",
              doc: """
                  CIFAR-10, binary version: `root` is the cifar-10-batches-bin folder (or the folder
                  containing it) with data_batch_1..5.bin and test_batch.bin. 50,000 / 10,000 images, 3 x 32
                  x 32, 10 classes.

                  Returns {train, test, classes}.
                  """) { a, _ in
            let root = try a.string("root", at: 0)
            return splits(try engine { try Datasets.cifar10(root: root) })
        }

        t.add("cifar100", "cifar100(root, coarse: false)",
              doc: """
                  CIFAR-100, binary version: `root` is the cifar-100-binary folder (or its parent) with
                  train.bin and test.bin. 50,000 / 10,000 images, 3 x 32 x 32, 100 fine classes (20
                  superclasses with coarse: true).

                  Returns {train, test, classes}.
                  """) { a, _ in
            let root = try a.string("root", at: 0)
            let coarse = try a.bool("coarse", default: false)
            return splits(try engine { try Datasets.cifar100(root: root, coarse: coarse) })
        }

        t.add("image_folder", "image_folder(root, image: 224)",
              doc: """
                  Images in the ImageNet layout: one sub-folder of `root` per class (sorted names give the
                  class indices), JPEG and PNG files read lazily (only the file list is in memory), decoded
                  as RGB.

                  Indexing or plain batches give the evaluation view: shorter side resized to floor(image /
                  0.875), centre crop image x image; pipelines crop the full-size images. When `root` holds
                  train/ and val/ (or test/) the result is a record {train, test, classes}, else one
                  Dataset.
                  """) { a, _ in
            let root = try a.string("root", at: 0)
            let size = try a.int("image", default: 224)
            let fm = FileManager.default
            if fm.fileExists(atPath: root + "/train"), fm.fileExists(atPath: root + "/val") || fm.fileExists(atPath: root + "/test") {
                return splits(try engine { try Datasets.imageFolderSplits(root: root, size: size) })
            }
            return .object(DatasetObject(try engine { try Datasets.imageFolder(root: root, size: size) }))
        }

        t.add("npy", "npy(images, labels, classes: nil)",
              doc: """
                  A Dataset from two NumPy .npy files: `images` of shape (N, H, W), (N, C, H, W) or (N, H,
                  W, C) with C 1 or 3, uint8 (0..255) or float ([0, 1]); `labels` integer (N,).

                  `classes` defaults to the largest label + 1.
                  """) { a, _ in
            let x = try a.string("images", at: 0), y = try a.string("labels", at: 1)
            var classes: Int? = nil
            if a.has("classes") {
                let k = try a.int("classes")
                guard k >= 1 else { throw RuntimeError.arguments("npy: classes must be >= 1, got \(k)") }
                classes = k
            }
            return .object(DatasetObject(try engine { try Datasets.npy(images: x, labels: y, classes: classes) }))
        }

        t.add("synthetic", "synthetic(n = 1000, classes: 10, image: 32, channels: 3, seed: 0, test: nil, noise: 0.08)",
              doc: """
                  A learnable synthetic task for quick runs and tests.

                  Class k is a sinusoidal grating at angle 180*k/classes degrees (one of three frequencies)
                  with a class tint, random phase and contrast, plus Gaussian pixel noise of std `noise`.
                  `n` training and `test` (default n/5) test images of channels x image x image; the same
                  seed gives the same images; all images are kept in memory, at most 4 GiB of pixels in all.
                  Small CNNs and ViTs reach high accuracy within a few epochs.
                  Returns {train, test, classes}.
                  """) { a, _ in
            let n = try a.int("n", at: 0, default: 1000)
            let classes = try a.int("classes", default: 10)
            let image = try a.int("image", default: 32)
            let channels = try a.int("channels", default: 3)
            let seed = try seedArgument(a)
            let test: Int? = a.has("test") ? try a.int("test") : nil
            let noise = try a.number("noise", default: 0.08)
            return splits(try engine {
                try Datasets.synthetic(n: n, classes: classes, image: image, channels: channels, seed: seed, testN: test, noise: noise)
            })
        }

        t.add("randaugment", "randaugment(m = 9, mstd: 0.5, n: 2, prob: 0.5, interpolation: \"bicubic\", fill: [124, 116, 104])",
              doc: """
                  RandAugment options exactly as timm's "rand-mM-mstdS-inc1".

                  `n` operations per image drawn with replacement from timm's 15 increasing ops
                  (AutoContrast, Equalize, Invert, Rotate, PosterizeIncreasing, SolarizeIncreasing,
                  SolarizeAdd, Color/Contrast/Brightness/Sharpness, ShearX/Y, TranslateX/Y), each applied
                  with probability `prob` at magnitude ~ N(m, mstd) clipped to [0, 10], with Pillow's 8-bit
                  semantics; `interpolation` and `fill` are those of the geometric ops. Pass it to
                  pipeline(randaugment: ...), or call it on images: `ra(x, seed: 1)` augments x (C, H, W) or
                  (N, C, H, W).
                  """) { a, _ in
            var c = RandAugmentConfig(magnitude: try a.number("m", at: 0, default: 9), std: try a.number("mstd", default: 0.5),
                                      ops: try a.int("n", default: 2), prob: try a.number("prob", default: 0.5))
            c.filter = try a.choice("interpolation", ["bicubic", "bilinear"], default: "bicubic") == "bilinear" ? .bilinear : .bicubic
            if a.has("fill") {
                let f = try a.numbers("fill")
                guard !f.isEmpty, f.allSatisfy({ $0 >= 0 && $0 <= 255 && $0 == $0.rounded() }) else {
                    throw RuntimeError.arguments("randaugment: fill must be whole numbers in 0...255")
                }
                c.fill = f.map { UInt8($0) }
            }
            try engine { try c.validate() }
            return .object(RandAugmentObject(c))
        }

        t.add("mixup", "mixup(alpha = 0.8, cutmix: 0, prob: 1, switch: 0.5, smoothing: 0.1)",
              doc: """
                  Mixup/CutMix options in timm's batch mode.

                  With probability `prob` a batch is mixed with its reverse; CutMix (Beta(cutmix, cutmix), a
                  box of side sqrt(1 - lambda) with uniform centre, lambda recomputed from the clipped area)
                  is chosen with probability `switch` when both alphas are positive, else mixup with
                  Beta(alpha, alpha); soft targets lambda*smooth(y) + (1 - lambda)*smooth(y reversed) with
                  label `smoothing`. Needs even batch sizes. Pass it to pipeline(mixup: ...), or call it:
                  `mx(x, y, classes: 10, seed: 0)` gives {images, targets, lambda}.
                  """) { a, _ in
            let c = MixupConfig(mixupAlpha: try a.number("alpha", at: 0, default: 0.8), cutmixAlpha: try a.number("cutmix", default: 0),
                                prob: try a.number("prob", default: 1), switchProb: try a.number("switch", default: 0.5))
            let s = try a.number("smoothing", default: 0.1)
            try engine { try c.validate() }
            guard s >= 0, s < 1 else { throw RuntimeError.arguments("mixup: smoothing must be in [0, 1), got \(formatNumber(s))") }
            guard c.mixupAlpha > 0 || c.cutmixAlpha > 0 else {
                throw RuntimeError.arguments("mixup: alpha or cutmix must be positive (both are 0: nothing to mix)")
            }
            return .object(MixupObject(c, smoothing: s))
        }

        t.add("pipeline", "pipeline(data, batch: 128, seed: 0, image: nil, crop: \"none\", flip: false, randaugment: nil, erasing: 0, mixup: nil, smoothing: nil, prefetch: 2, workers: 1)",
              doc: """
                  The training input pipeline over `data` (a Dataset or a {train, test} record: its train
                  split), in timm's order.

                  Per image `crop` ("none", "random_resized" for scale (0.08, 1) and ratio (3/4, 4/3),
                  "pad4" or a number p for a random crop after p pixels of zero padding) to image x image
                  (default: the stored size), horizontal `flip`, `randaugment` (randaugment(...), a timm
                  string such as "rand-m9-mstd0.5-inc1", or a magnitude), random `erasing` probability; per
                  batch `mixup` (mixup(...)) with soft targets and label `smoothing` (default: the mixup's).
                  Every random choice derives from `seed`, the epoch and the position, so results are the
                  same with or without the `prefetch` thread and `workers`. `p.batches(epoch)` iterates an
                  epoch; `p.set(...)` changes settings between epochs; fit(m, p, ...) trains from it.
                  """) { a, _ in
            let d = try dataset(a, "data", at: 0)
            let batch = try a.int("batch", default: 128)
            let seed = try seedArgument(a)
            let size = try optionalSize(a)
            let crop = try cropMode(a)
            let ra = try a.value("randaugment").map { try randAugment($0, callee: "pipeline") } ?? nil
            var mix: MixupObject? = nil
            if let v = a.value("mixup") {
                switch v {
                case .nil_, .bool(false): break
                case .object(let o) where o is MixupObject: mix = o as? MixupObject
                default: throw RuntimeError.type("pipeline: mixup must be mixup(...) or nil, got \(v.typeName)")
                }
            }
            let smoothing = try a.number("smoothing", default: mix?.smoothing ?? 0)
            let p = try engine {
                try TrainPipeline(dataset: d, batch: batch, seed: seed, size: size, crop: crop, flip: try a.bool("flip", default: false),
                                  randAugment: ra, randomErasing: try a.number("erasing", default: 0), mixup: mix?.config,
                                  labelSmoothing: smoothing, prefetch: try a.int("prefetch", default: 2),
                                  workers: try a.int("workers", default: 1))
            }
            return .object(PipelineObject(p))
        }
        t.add("augment", "augment(x, image: nil, crop: \"none\", flip: false, randaugment: nil, erasing: 0, seed: 0)",
              doc: """
                  Applies the per-image part of the training pipeline to an image (C, H, W) or a batch (N,
                  C, H, W) in [0, 1], for looking at augmentations.

                  `crop` ("none", "random_resized", "pad4" or a padding), horizontal `flip`, `randaugment`
                  (randaugment(...), a timm string or a magnitude; 8-bit Pillow semantics), random `erasing`
                  probability, output side `image` (default: the input's height). Image i of a batch uses a
                  generator seeded from (`seed`, i), so the same call gives the same result.
                  """) { a, _ in
            let x = try TensorObject.tensor(a, "x", at: 0)
            guard x.rank == 3 || x.rank == 4 else {
                throw RuntimeError.type("augment: x must be an image (C, H, W) or a batch (N, C, H, W), got shape \(x.shape)")
            }
            let s = x.rank == 3 ? [1] + x.shape : x.shape
            let (n, c, h, w) = (s[0], s[1], s[2], s[3])
            guard c == 1 || c == 3 else { throw RuntimeError.type("augment: images need 1 or 3 channels, got \(c)") }
            let size = try optionalSize(a) ?? h
            let erasing = try a.number("erasing", default: 0)
            guard (0...1).contains(erasing) else { throw RuntimeError.arguments("augment: erasing must be in [0, 1], got \(formatNumber(erasing))") }
            let tf = ImageTransform(size: size, crop: try cropMode(a), flip: try a.bool("flip", default: false),
                                    randAugment: try a.value("randaugment").map { try randAugment($0, callee: "augment") } ?? nil,
                                    randomErasing: erasing)
            let seed = try seedArgument(a)
            let out = Tensor(zeros: x.rank == 3 ? [c, size, size] : [n, c, size, size])
            for i in 0..<n {
                let img = PixelImage(chw: x.ptr + i * c * h * w, channels: c, height: h, width: w)
                tf.apply(img, rng: RNG(seed: mixSeed(seed, UInt64(i))), into: out.ptr + i * c * size * size)
            }
            return TensorObject.wrap(out)
        }

        t.add("soft_targets", "soft_targets(labels, classes:, smoothing: 0.1)",
              doc: """
                  Label-smoothed one-hot targets (N, classes): 1 - smoothing + smoothing/classes on each
                  true class and smoothing/classes elsewhere (timm's convention); pass them to
                  cross_entropy(logits, targets).
                  """) { a, _ in
            let y = try TensorBuiltins.labels(a, "labels", at: 0)
            let k = try a.int("classes")
            let eps = try a.number("smoothing", default: 0.1)
            return TensorObject.wrap(try checkedTargets("soft_targets", labels: y, classes: k, lambda: 1, smoothing: eps))
        }
    }
}
