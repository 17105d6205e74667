// Training benchmark: one full PGD-1 adversarial training step (attack in evaluation mode,
// forward and backward in training mode, AdamW update) at batch 64 on the five benchmark models
// at 32x32x3, 10 classes. The PyTorch reference is benchmarks/torch_train_step.py.
//
// `AdvBench train`; ADV_BENCH_PRECISION=bf16 (or fp16) runs the step at that precision.
import Engine
import Tensor
import Foundation

struct TrainBench: BenchSection {
    let name = "train"

    /// One adversarial training step, as `Trainer` does it for every batch.
    static func step(_ m: Network, _ opt: Optimizer, _ attack: Attack, _ x: Tensor, _ labels: [Int], _ rng: RNG) throws {
        let adv = try attack.perturb(m, x, labels: labels, rng: rng)
        m.isTraining = true
        let loss = try Tensor.crossEntropy(m.forward(adv), labels: labels, labelSmoothing: 0.1)
        try loss.backward()
        try opt.step(lr: 1e-3)
        opt.zeroGrad()
    }

    func run(_ ctx: BenchContext) throws {
        let name = ProcessInfo.processInfo.environment["ADV_BENCH_PRECISION"] ?? "fp32"
        // An unknown name falls back to fp32 and the heading says which precision ran.
        let precision = Precision(rawValue: name) ?? .fp32
        print("\n## Adversarial training step: PGD-1 (eps 4/255) + forward + backward + AdamW, batch 64, 32x32x3, 10 classes, \(precision.rawValue)\n")
        var table = Table(["model", "params", "step (s)", "images/s"])
        let batch = 64
        let rng = RNG(seed: 0)
        let attack = try PGD(eps: 4 / 255, step: 4 / 255, steps: 1)
        for (label, c) in try BenchModels.configs() {
            let m = try Models.build(c, rng: rng)
            m.precision = precision
            let opt = try AdamW(groups: ParameterGroup.split(m.parameters(), weightDecay: 0.05))
            let x = Tensor.rand([batch, 3, 32, 32], rng: rng)
            let labels = (0..<batch).map { $0 % 10 }
            let t = try Bench.time(budget: ctx.budget) { try TrainBench.step(m, opt, attack, x, labels, rng) }
            table.add([label, Network.formatCount(m.parameterCount), fmt(t, 3), fmt(Double(batch) / t)])
        }
        print(table.render())
    }
}
