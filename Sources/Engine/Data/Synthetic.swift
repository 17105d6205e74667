// synthetic: a learnable image-classification task, deterministic from a seed. Class k is an oriented
// sinusoidal grating (angle pi*k/classes, one of three spatial frequencies) with a class-dependent
// colour tint, at a random phase and contrast, plus Gaussian pixel noise. Small CNNs and ViTs reach
// high accuracy in a few epochs; the noise and random phase keep it from being trivial, so
// adversarial training is meaningful (an eps-ball can move an image towards a neighbour class).
import Foundation
import Tensor

extension Datasets {
    /// Largest synthetic data set (train + test pixels, one byte each): 4 GiB.
    public static let syntheticMaxBytes = 4 << 30

    /// A synthetic task: `n` training and `testN` test images (default n/5), `classes` classes.
    /// - Parameters:
    ///   - n: number of training images.
    ///   - classes: number of classes (2...1000).
    ///   - image: side of the square images.
    ///   - channels: 1 or 3.
    ///   - seed: the task's seed (same seed, same images).
    ///   - testN: number of test images.
    ///   - noise: standard deviation of the pixel noise.
    public static func synthetic(n: Int, classes: Int = 10, image: Int = 32, channels: Int = 3,
                                 seed: UInt64 = 0, testN: Int? = nil, noise: Double = 0.08) throws -> DataSplits {
        guard n >= 1, n <= 10_000_000 else { throw EngineError.invalidArgument("synthetic: n must be between 1 and 10,000,000, got \(n)") }
        guard classes >= 2, classes <= 1000 else { throw EngineError.invalidArgument("synthetic: classes must be between 2 and 1000, got \(classes)") }
        guard image >= 4, image <= 512 else { throw EngineError.invalidArgument("synthetic: image must be between 4 and 512, got \(image)") }
        guard channels == 1 || channels == 3 else { throw EngineError.invalidArgument("synthetic: channels must be 1 or 3, got \(channels)") }
        guard noise >= 0, noise <= 1 else { throw EngineError.invalidArgument("synthetic: noise must be in [0, 1], got \(noise)") }
        let nt = testN ?? max(1, n / 5)
        guard nt >= 1, nt <= 10_000_000 else { throw EngineError.invalidArgument("synthetic: test size must be between 1 and 10,000,000, got \(nt)") }
        // The images are kept in memory (one byte per value): the total is checked before allocating.
        let bytes = (n + nt) * channels * image * image
        guard bytes <= syntheticMaxBytes else {
            throw EngineError.invalidArgument("synthetic: \(n) + \(nt) images of \(channels)x\(image)x\(image) need \(bytes >> 20) MiB, more than the \(syntheticMaxBytes >> 30) GiB a synthetic data set may hold; lower n, test or image")
        }
        let train = try makeSynthetic(count: n, classes: classes, side: image, channels: channels,
                                      seed: seed, stream: 1, noise: noise)
        let test = try makeSynthetic(count: nt, classes: classes, side: image, channels: channels,
                                     seed: seed, stream: 2, noise: noise)
        return DataSplits(train: train, test: test)
    }

    static func makeSynthetic(count: Int, classes: Int, side: Int, channels: Int, seed: UInt64,
                              stream: UInt64, noise: Double) throws -> ByteDataset {
        let per = channels * side * side
        var pixels = [UInt8](repeating: 0, count: count * per)
        var labels = [Int](repeating: 0, count: count)
        let labelRNG = RNG(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ stream)
        for i in 0..<count { labels[i] = i < classes ? i : labelRNG.int(classes) }
        let freqs = [2.0, 3.0, 4.5]
        pixels.withUnsafeMutableBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            Parallel.forEach(count, minChunk: 64) { range in
                for i in range {
                    let rng = RNG(seed: (seed &* 0x9E37_79B9_7F4A_7C15) ^ (stream << 56) ^ UInt64(i) &* 0xD1B5_4A32_D192_ED03)
                    let k = labels[i]
                    let angle = Double.pi * Double(k) / Double(classes) + 0.08 * Double(rng.normal())
                    let f = freqs[k % 3] * 2 * Double.pi / Double(side)
                    let phase = 2 * Double.pi * rng.uniformDouble()
                    let contrast = 0.25 + 0.15 * rng.uniformDouble()
                    let bright = 0.45 + 0.1 * rng.uniformDouble()
                    let (ca, sa) = (cos(angle), sin(angle))
                    let out = base + i * per
                    for c in 0..<channels {
                        // class tint: each class leans on a channel mix; gray images get none
                        let tint = channels == 1 ? 0 : 0.12 * cos(2 * Double.pi * Double(k) / Double(classes) + 2.1 * Double(c))
                        for y in 0..<side {
                            for x in 0..<side {
                                let u = Double(x) * ca + Double(y) * sa
                                var v = bright + tint + contrast * sin(f * u + phase) + noise * Double(rng.normal())
                                v = min(max(v, 0), 1)
                                out[c * side * side + y * side + x] = UInt8((v * 255).rounded())
                            }
                        }
                    }
                }
            }
        }
        return try ByteDataset(pixels: pixels, labels: labels, shape: (channels, side, side), classes: classes,
                               source: "synthetic")
    }
}
