// Scoring precomputed adversarial images (RobustBench's "adversarial examples as a file"): the
// images are checked against the clean ones (same labels, every pixel in [0, 1], every image
// within the eps-ball, `AttackOps.checkOutput`), then an image counts as robust when the model
// is right on the clean image and on the adversarial one, as AutoAttack counts it (it returns
// the clean image where no attack succeeded). Top-5: the label among the five highest logits,
// on clean images and on the adversarial ones.
import Foundation
import Tensor

extension Evaluation {
    /// Clean and robust accuracy of `model` with adversarial images given as a data set.
    /// - Parameters:
    ///   - model: the classifier (evaluation mode while scoring; restored afterwards).
    ///   - data: clean images.
    ///   - adversarial: adversarial images, example i made from clean example i, same labels.
    ///   - eps: the threat model's radius (pixel units); an image outside it is an error.
    ///   - norm: `.linf` or `.l2`.
    ///   - name: the attack's name for the record and the errors.
    ///   - options: batch, limit, perExample, progress.
    /// - Returns: the record (accuracies in percent), with top-5 accuracies when the model has
    ///   at least 5 classes.
    public static func evaluateAdversarial(_ model: Model, _ data: Dataset, adversarial: Dataset, eps: Float, norm: AttackNorm,
                                           name: String, options: EvalOptions = EvalOptions()) throws -> EvalRecord {
        guard options.batch >= 1 else { throw EngineError.invalidArgument("evaluate: batch must be >= 1, got \(options.batch)") }
        let s = model.inputShape, ds = data.imageShape, da = adversarial.imageShape
        guard s.channels == ds.channels, s.height == ds.height, s.width == ds.width else {
            throw EngineError.shape("evaluate: data set images are \(ds.channels)x\(ds.height)x\(ds.width) but model \(model.name) expects \(s.channels)x\(s.height)x\(s.width)")
        }
        guard da.channels == ds.channels, da.height == ds.height, da.width == ds.width else {
            throw EngineError.shape("evaluate: adversarial images are \(da.channels)x\(da.height)x\(da.width) but the clean images \(ds.channels)x\(ds.height)x\(ds.width)")
        }
        let total = min(options.limit ?? data.count, data.count)
        guard adversarial.count >= total else {
            throw EngineError.shape("evaluate: \(adversarial.count) adversarial images for \(total) clean ones")
        }
        let d = s.channels * s.height * s.width
        let start = Date()
        var clean = 0, robust = 0, top5c = 0, top5r = 0
        var ex = EvalState.Examples()
        try AttackMode.evaluating(model) {
            var lo = 0
            while lo < total {
                try Interrupt.check()
                let hi = min(lo + options.batch, total), n = hi - lo
                let x = Tensor(zeros: [n, s.channels, s.height, s.width]), xa = Tensor(zeros: x.shape)
                var labels = [Int](repeating: 0, count: n)
                for k in 0..<n {
                    labels[k] = try data.load(lo + k, into: x.ptr + k * d)
                    let la = try adversarial.load(lo + k, into: xa.ptr + k * d)
                    guard la == labels[k] else {
                        throw EngineError.invalidArgument("evaluate: adversarial image \(lo + k) has label \(la) but its clean image \(labels[k]); the two data sets must be in the same order")
                    }
                }
                do {
                    try AttackOps.checkOutput(xa, clean: x, eps: eps, norm: norm, attack: name)
                } catch EngineError.invalidArgument(let m) {
                    throw EngineError.invalidArgument("\(m) (batch starting at image \(lo))")
                }
                let lc = try AttackOps.logits(model, x), la = try AttackOps.logits(model, xa)
                let pc = AttackOps.predictions(lc), pa = AttackOps.predictions(la)
                let t5c = topK(lc, labels, k: 5), t5a = topK(la, labels, k: 5)
                for k in 0..<n {
                    let c = pc[k] == labels[k], r = c && pa[k] == labels[k]
                    if c { clean += 1 }
                    if r { robust += 1 }
                    if t5c[k] { top5c += 1 }
                    if t5c[k] && t5a[k] { top5r += 1 }
                    if options.perExample {
                        ex.labels.append(labels[k]); ex.clean.append(c); ex.robust.append(r)
                        ex.brokenBy.append(c && !r ? name : ""); ex.top5.append(t5c[k])
                    }
                }
                lo = hi
            }
        }
        let pct = { (k: Int) in total > 0 ? Double(k) * 100 / Double(total) : 0 }
        var r = EvalRecord(model: model.name, precision: options.precisionLabel ?? model.precision.rawValue,
                           params: model.parameterCount, clean: pct(clean), robust: pct(robust),
                           drop: EvalRecord.relativeDrop(clean: pct(clean), robust: pct(robust)),
                           perAttack: [(name, pct(robust))], images: total, seconds: Date().timeIntervalSince(start), warnings: [])
        if model.classes >= 5 { r.cleanTop5 = pct(top5c); r.robustTop5 = pct(top5r) }
        if options.perExample {
            r.perExample = PerExampleOutcome(labels: ex.labels, clean: ex.clean, robust: ex.robust, brokenBy: ex.brokenBy, top5: ex.top5)
        }
        return r
    }
}
