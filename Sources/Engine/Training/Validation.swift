// Per-epoch validation during training: clean accuracy on (up to `limit` images of) a data set,
// and robust accuracy under an attack through the evaluation code. Uses its own generator, so
// validating never changes the training run's random streams (resuming stays bit-identical).

import Tensor

public enum Validation {
    /// Metrics of `model` on `data`: ("val_clean", fraction) and, with an attack, ("val_robust", fraction).
    /// - Parameters:
    ///   - model: evaluated in evaluation mode (its mode is restored).
    ///   - data: validation images.
    ///   - attack: optional attack for robust accuracy.
    ///   - limit: the first `limit` images are used.
    ///   - seed: seed of the attack's random starts.
    public static func run(_ model: Model, _ data: Dataset, attack: Attack?, limit: Int, seed: UInt64) throws -> [(String, Double)] {
        let was = model.isTraining
        defer { model.isTraining = was }
        model.isTraining = false
        if let a = attack {
            var o = EvalOptions()
            o.limit = limit; o.sanity = false; o.progress = false; o.batch = 128
            let r = try Evaluation.evaluate(model, data, attacks: [a], options: o, rng: RNG(seed: seed))
            return [("val_clean", r.clean / 100), ("val_robust", r.robust / 100)]
        }
        let n = min(limit, data.count)
        guard n > 0 else { return [] }
        let (c, h, w) = data.imageShape
        let per = c * h * w
        var correct = 0
        var start = 0
        while start < n {
            let b = min(128, n - start)
            let x = Tensor(zeros: [b, c, h, w])
            var labels: [Int] = []
            for j in 0..<b { labels.append(try data.load(start + j, into: x.ptr + j * per)) }
            correct += try Autograd.noGrad { try Trainer.matches(try model.forward(x), labels) }
            start += b
        }
        return [("val_clean", Double(correct) / Double(n))]
    }
}
