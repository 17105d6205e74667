// The adv side of the users'-view benchmark (benchmarks/users_view.py, `make bench`): one
// workload per process, chosen by environment variables, reported as one `RESULT {json}` line
// that the driver parses. Two sections:
//
// - `peaks`: the machine's measured product peaks with the engine's threads: fp32 (the better of
//   one OpenBLAS sgemm call and the engine's split product, as `AdvBench kernels` measures it) and
//   bf16 (the engine's product at precision bf16: AVX512-BF16 where the CPU has it), square 1536.
// - `step224`: a full-size model at 224x224x3, 1000 classes, fresh weights:
//   ADV_BENCH_MODEL (convnext_tiny, swin_tiny, poolformer_s36, deit_small, resnet50_gelu),
//   ADV_BENCH_WORK (default eval:8,train:16,eval:32; `eval`: PGD-5, eps 4/255, step 1/255, no random
//   start, then the forward that scores it, as evaluate runs it; `train`: one PGD-1 adversarial
//   training step as `fit` takes it: attack in evaluation mode, forward + backward in training
//   mode, AdamW), ADV_BENCH_PRECISION (fp32 | bf16), ADV_BENCH_REPS (timed runs of each workload;
//   the best is reported, and the first run, which pays for first-touch allocation, counts as one).
//   Each workload's line carries the process's peak RSS so far, and each run's CPU time (user and
//   system seconds of the whole process, `cpu_user`/`cpu_sys`): on a loaded machine the wall times
//   mostly measure the load, and the first run's extra system time shows its first-touch page
//   faults (the warm-up that eval at batch 8 pays as the first workload of a process).
// - `corelat`: the round trip of one cache line between CPU 0 and CPU 1 (CKernels/corelatency.c),
//   which says where the host placed the two vCPUs (docs/architecture.md, "Where the two vCPUs
//   sit"); users_view.py measures it before every fit32 process and prints it beside each row.
import Engine
import Tensor
import Foundation

/// Prints one machine-readable result line for benchmarks/users_view.py.
func emitResult(_ fields: [String: Any]) {
    guard let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]),
          let s = String(data: data, encoding: .utf8) else { return }
    print("RESULT \(s)")
    fflush(stdout)
}

struct PeaksBench: BenchSection {
    let name = "peaks"

    func run(_ ctx: BenchContext) throws {
        let n = 1536
        let a = Tensor.randn([n, n], rng: RNG(seed: 1)), b = Tensor.randn([n, n], rng: RNG(seed: 2))
        KernelBench().measureReferences(ctx)
        let budget = Swift.max(ctx.budget, 1.0)
        let tb = try Bench.time(budget: budget) { _ = try Autograd.noGrad { try Tensor.matmul(a, b, precision: .bf16) } }
        let bf16 = 2 * Double(n * n * n) / tb / 1e9
        print("fp32 peak \(fmt(ctx.sgemmPeak)) GFLOP/s, bf16 peak \(fmt(bf16)) GFLOP/s (square \(n), threads \(Parallel.threads), AVX512-BF16 \(Backend.cpu.bf16))")
        emitResult(["kind": "peaks", "fp32": ctx.sgemmPeak, "bf16": bf16, "bandwidth": ctx.bandwidth,
                    "threads": Parallel.threads, "avx512bf16": Backend.cpu.bf16])
    }
}

struct CoreLatencyBench: BenchSection {
    let name = "corelat"

    func run(_ ctx: BenchContext) throws {
        // 500 round trips per batch; a batch taking over 0.2 s means the other CPU is busy.
        let ns = CoreLatency.roundTrip(0, 1, rounds: 500, budget: 0.2)
        print("core-to-core round trip CPU 0 <-> 1: \(ns.map { fmt($0) + " ns" } ?? "not measured")")
        emitResult(["kind": "corelat", "rt_ns": ns ?? -1])
    }
}

struct Step224Bench: BenchSection {
    let name = "step224"

    func run(_ ctx: BenchContext) throws {
        let env = ProcessInfo.processInfo.environment
        let modelName = env["ADV_BENCH_MODEL"] ?? "convnext_tiny"
        let reps = Swift.max(1, Int(env["ADV_BENCH_REPS"] ?? "") ?? 2)
        guard let precision = Precision(rawValue: env["ADV_BENCH_PRECISION"] ?? "fp32") else {
            throw EngineError.invalidArgument("ADV_BENCH_PRECISION must be fp32, bf16 or fp16")
        }
        let work: [(kind: String, batch: Int)] = try (env["ADV_BENCH_WORK"] ?? "eval:8,train:16,eval:32").split(separator: ",").map { w in
            let parts = w.split(separator: ":")
            guard parts.count == 2, parts[0] == "eval" || parts[0] == "train", let b = Int(parts[1]), b > 0 else {
                throw EngineError.invalidArgument("ADV_BENCH_WORK: '\(w)' is not eval:BATCH or train:BATCH")
            }
            return (String(parts[0]), b)
        }
        let rng = RNG(seed: 0)
        let m = try Models.make(modelName, rng: rng)
        m.precision = precision
        let opt = try AdamW(groups: ParameterGroup.split(m.parameters(), weightDecay: 0.05))
        let pgd5 = try PGD(eps: 4 / 255, step: 1 / 255, steps: 5, randomStart: false)
        let pgd1 = try PGD(eps: 4 / 255, step: 4 / 255, steps: 1)
        for (kind, batch) in work {
            let x = Tensor.rand([batch, 3, 224, 224], rng: rng)
            let labels = (0..<batch).map { ($0 * 37) % 1000 }
            var times: [Double] = [], cpuUser: [Double] = [], cpuSys: [Double] = []
            for _ in 0..<reps {
                let c0 = Step224Bench.cpuTime()
                defer {
                    let c1 = Step224Bench.cpuTime()
                    cpuUser.append(c1.user - c0.user)
                    cpuSys.append(c1.sys - c0.sys)
                }
                let t0 = Bench.now()
                if kind == "eval" {
                    _ = try pgd5.run(m, x, goal: AttackGoal(labels: labels), rng: rng)
                } else {
                    try TrainBench.step(m, opt, pgd1, x, labels, rng)
                }
                times.append(Bench.now() - t0)
            }
            let best = times.min() ?? .nan
            print("\(modelName) \(kind) batch \(batch) \(precision.rawValue): best \(fmt(best, 3)) s of \(times.map { fmt($0, 3) }.joined(separator: ", "))"
                  + "; CPU user+sys per run \(zip(cpuUser, cpuSys).map { "\(fmt($0, 2))+\(fmt($1, 2))" }.joined(separator: ", ")) s")
            var fields: [String: Any] = ["kind": kind, "model": modelName, "batch": batch, "precision": precision.rawValue,
                                         "seconds": best, "times": times, "macs": try m.macs(), "threads": Parallel.threads,
                                         "peak_rss": ModelMemoryBench.peakRSS() ?? 0, "cpu_user": cpuUser, "cpu_sys": cpuSys]
            if MemoryStats.enabled { fields.merge(Step224Bench.memoryFields()) { a, _ in a } }
            emitResult(fields)
            if MemoryStats.enabled && kind == "train" { try Step224Bench.census(m, pgd1, x, labels, rng) }
        }
    }

    /// User and system CPU seconds of the whole process so far (every thread).
    static func cpuTime() -> (user: Double, sys: Double) {
        var u = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &u)
        let sec = { (t: timeval) in Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return (sec(u.ru_utime), sec(u.ru_stime))
    }

    /// With ADV_MEM_STATS=1, after the timed steps: what the training forward's graph holds at the
    /// end of the forward (Autograd.census: buffers by the op that computed them), then the
    /// backward without an update.
    static func census(_ m: Network, _ attack: Attack, _ x: Tensor, _ labels: [Int], _ rng: RNG) throws {
        let adv = try attack.perturb(m, x, labels: labels, rng: rng)
        m.isTraining = true
        let loss = try Tensor.crossEntropy(m.forward(adv), labels: labels, labelSmoothing: 0.1)
        let rows = Autograd.census(of: loss)
        let gib = { (b: Int) in fmt(Double(b) / Double(1 << 30), 3) }
        print("graph at the end of the training forward: \(gib(rows.reduce(0) { $0 + $1.bytes })) GiB in its recorded tensors; live tensors now \(gib(MemoryStats.snapshot.live)) GiB")
        for r in rows.prefix(16) { print("  \(gib(r.bytes)) GiB  \(r.tensors) tensors  \(r.op)") }
        try loss.backward()
        for p in m.parameters() { p.tensor.grad = nil }
    }

    /// With ADV_MEM_STATS=1: peak live tensor bytes, what BigBuffers held at that peak and holds
    /// now, beside the peak RSS (the rest of the peak RSS is malloc's heap beyond the live
    /// tensors, the program and its libraries).
    static func memoryFields() -> [String: Any] {
        let s = MemoryStats.snapshot
        let gib = { (b: Int) in fmt(Double(b) / Double(1 << 30), 2) }
        print("memory: peak live tensors \(gib(s.peak)) GiB (big-buffer cache then \(gib(s.cachedAtPeak)) GiB, now \(gib(MemoryStats.cachedBytes)) GiB); "
              + "peak RSS \(gib(ModelMemoryBench.peakRSS() ?? 0)) GiB")
        return ["live_peak": s.peak, "cached_at_peak": s.cachedAtPeak, "cached_now": MemoryStats.cachedBytes]
    }
}
