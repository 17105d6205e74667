// Attack benchmark: PGD-5 (eps 4/255, step 1/255, random start) throughput in images/s on the
// five benchmark models at 32x32x3, 10 classes, batch 64, fp32; and batched vs sequential
// restarts (PGD-5 x 4 restarts, batch 32) on a case where examples stay robust, which is when
// restarts cost the most (a sequential run re-attacks only the examples still robust).
//
// `AdvBench attacks`
import Engine
import Tensor
import Foundation

struct AttackBench: BenchSection {
    let name = "attacks"

    func run(_ ctx: BenchContext) throws {
        print("\n## Attacks: PGD-5 (eps 4/255, step 1/255, random start), batch 64, 32x32x3, 10 classes, fp32\n")
        var table = Table(["model", "params", "PGD-5 batch (s)", "images/s"])
        let batch = 64
        let rng = RNG(seed: 0)
        let pgd5 = try PGD(eps: 4 / 255, step: 1 / 255, steps: 5)
        var built: [(String, Network)] = []
        for (label, c) in try BenchModels.configs() {
            let m = try Models.build(c, rng: rng)
            built.append((label, m))
            let x = Tensor.rand([batch, 3, 32, 32], rng: rng)
            let labels = (0..<batch).map { $0 % 10 }
            let t = try Bench.time(budget: ctx.budget) {
                _ = try pgd5.run(m, x, goal: AttackGoal(labels: labels), rng: rng)
            }
            table.add([label, Network.formatCount(m.parameterCount), fmt(t, 3), fmt(Double(batch) / t)])
        }
        print(table.render())

        // ADV_BENCH_SCALING=1: the per-image cost of PGD-5 against the batch size (what
        // Model.restartBatchLimit is chosen from).
        if ProcessInfo.processInfo.environment["ADV_BENCH_SCALING"] != nil {
            var st = Table(["model"] + [8, 16, 32, 64, 128].map { "ms/image @\($0)" })
            for (label, m) in built {
                var row = [label]
                for n in [8, 16, 32, 64, 128] {
                    let x = Tensor.rand([n, 3, 32, 32], rng: rng)
                    let labels = (0..<n).map { $0 % 10 }
                    let t = try Bench.time(budget: ctx.budget) { _ = try pgd5.run(m, x, goal: AttackGoal(labels: labels), rng: rng) }
                    row.append(fmt(1000 * t / Double(n), 2))
                }
                st.add(row)
            }
            print(st.render())
        }

        print("\n## Restarts: PGD-5 x 4 restarts at batch 8 and 32: batched (one batch of 32 or 128), sequential, auto\n")
        print("Labels are the model's own predictions and eps is 0.25/255, so most examples stay robust")
        print("through every restart (the costly case); all modes give identical results. auto runs restart 1")
        print("alone, then restarts 2-4 over the survivors in groups of at most the model's limit of images")
        print("(restarts x examples; a single restart when two do not fit).\n")
        var rt = Table(["model", "batch", "robust after", "batched (s)", "sequential (s)", "auto (s)", "auto limit", "batched speed-up", "auto speed-up"])
        for n in [8, 32] {
          for (label, m) in built {
            let x = Tensor.rand([n, 3, 32, 32], rng: rng)
            let labels = AttackOps.predictions(try AttackMode.evaluating(m) { try Autograd.noGrad { try m.forward(x) } })
            func pgd(_ mode: RestartMode) throws -> PGD {
                try PGD(eps: 0.25 / 255, step: 0.0625 / 255, steps: 5, restarts: 4, restartMode: mode)
            }
            let batched = try pgd(.batched), sequential = try pgd(.sequential), auto = try pgd(.auto)
            var robust = 0
            let tb = try Bench.time(budget: ctx.budget) {
                robust = try batched.run(m, x, goal: AttackGoal(labels: labels), rng: RNG(seed: 1)).fooled.filter { !$0 }.count
            }
            let ts = try Bench.time(budget: ctx.budget) {
                _ = try sequential.run(m, x, goal: AttackGoal(labels: labels), rng: RNG(seed: 1))
            }
            let ta = try Bench.time(budget: ctx.budget) {
                _ = try auto.run(m, x, goal: AttackGoal(labels: labels), rng: RNG(seed: 1))
            }
            rt.add([label, "\(n)", "\(robust)/\(n)", fmt(tb, 3), fmt(ts, 3), fmt(ta, 3), "\(m.restartBatchLimit)",
                    fmt(ts / tb, 2) + "x", fmt(ts / ta, 2) + "x"])
          }
        }
        print(rt.render())
    }
}
