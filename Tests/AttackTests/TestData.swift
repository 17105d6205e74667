// In-memory data sets for evaluation tests.
import Engine
import Tensor

/// Images and labels held in memory; optionally throws after `failAfter` loads (an interruption).
final class MemoryDataset: Dataset {
    let images: Tensor
    let labels: [Int]
    let classes: Int
    var failAfter: Int? = nil
    var loads = 0
    init(images: Tensor, labels: [Int], classes: Int) {
        self.images = images; self.labels = labels; self.classes = classes
    }
    var count: Int { labels.count }
    var classNames: [String] { (0..<classes).map(String.init) }
    var imageShape: (channels: Int, height: Int, width: Int) { (images.shape[1], images.shape[2], images.shape[3]) }
    func load(_ index: Int, into: UnsafeMutablePointer<Float>) throws -> Int {
        loads += 1
        if let f = failAfter, loads > f { throw EngineError.interrupted }
        guard index >= 0 && index < count else { throw EngineError.invalidArgument("index \(index) outside 0..<\(count)") }
        let d = images.count / count
        into.update(from: images.ptr + index * d, count: d)
        return labels[index]
    }

    /// `n` uniform random images with labels = the model's prediction, except every 5th image
    /// gets another label (misclassified), so clean accuracy is 80%.
    static func forModel(_ m: TinyMLP, n: Int, seed: UInt64) throws -> MemoryDataset {
        let s = m.inputShape
        let x = Tensor.rand([n, s.channels, s.height, s.width], rng: RNG(seed: seed))
        let pred = AttackOps.predictions(try Autograd.noGrad { try m.forward(x) })
        let labels = pred.enumerated().map { i, p in i % 5 == 4 ? (p + 1) % m.classes : p }
        return MemoryDataset(images: x, labels: labels, classes: m.classes)
    }
}
