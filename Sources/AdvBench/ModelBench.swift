// Model benchmarks: forward+backward throughput of the five benchmark models (batch 64, 32x32x3,
// 10 classes), and the peak memory of full-size convnext_tiny forward+backward at 224, batch 16.
//
// `AdvBench models` and `AdvBench model-memory` (run the latter alone: peak RSS is per process).
import Engine
import Tensor
import Foundation

/// The five benchmark models of the issue, as `model()` options.
enum BenchModels {
    static func configs() throws -> [(label: String, config: ModelConfig)] {
        func cfg(_ name: String, _ edit: (inout ModelOptions) -> Void) throws -> ModelConfig {
            var o = ModelOptions()
            o.image = 32; o.channels = 3; o.classes = 10
            edit(&o)
            return try Models.configure(name, o)
        }
        let all: [(label: String, config: ModelConfig)] = [
            ("convnext_atto", try cfg("convnext_atto") { _ in }),
            ("swin_tiny p2 w4 dims64 heads(2,4,8,16)", try cfg("swin_tiny") { $0.patch = 2; $0.window = 4; $0.dims = [64]; $0.heads = [2, 4, 8, 16] }),
            ("poolformer_s12", try cfg("poolformer_s12") { _ in }),
            ("deit_tiny p4", try cfg("deit_tiny") { $0.patch = 4 }),
            ("resnet50_gelu", try cfg("resnet50_gelu") { _ in }),
        ]
        // ADV_BENCH_MODELS=convnext,swin keeps only the rows whose label contains one of the words.
        guard let only = ProcessInfo.processInfo.environment["ADV_BENCH_MODELS"], !only.isEmpty else { return all }
        let words = only.split(separator: ",").map(String.init)
        return all.filter { row in words.contains { row.label.contains($0) } }
    }

    /// One training-style step: forward in training mode, mean cross entropy, backward.
    static func step(_ m: Network, _ x: Tensor, _ labels: [Int]) throws {
        let loss = try Tensor.crossEntropy(m.forward(x), labels: labels)
        try loss.backward()
        for p in m.parameters() { p.tensor.grad = nil }
    }
}

struct ModelBench: BenchSection {
    let name = "models"

    func run(_ ctx: BenchContext) throws {
        print("\n## Models: forward+backward, batch 64, 32x32x3, 10 classes (training mode, fp32)\n")
        var table = Table(["model", "params", "MACs/image", "step (s)", "images/s"])
        let batch = 64
        let rng = RNG(seed: 0)
        for (label, c) in try BenchModels.configs() {
            let m = try Models.build(c, rng: rng)
            m.isTraining = true
            let x = Tensor.rand([batch, 3, 32, 32], rng: rng)
            let labels = (0..<batch).map { $0 % 10 }
            let t = try Bench.time(budget: ctx.budget) { try BenchModels.step(m, x, labels) }
            table.add([label, Network.formatCount(m.parameterCount), Network.formatCount(try m.macs()),
                       fmt(t, 3), fmt(Double(batch) / t)])
        }
        print(table.render())
    }
}

struct ModelMemoryBench: BenchSection {
    let name = "model-memory"

    /// Peak resident set size of this process in bytes (VmHWM), or nil.
    static func peakRSS() -> Int? {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first
            return kb.map { $0 * 1024 }
        }
        return nil
    }

    func run(_ ctx: BenchContext) throws {
        print("\n## Memory: convnext_tiny 224x224x3, 1000 classes, batch 16, one forward+backward (training mode)\n")
        let before = ModelMemoryBench.peakRSS() ?? 0
        let m = try Models.make("convnext_tiny", rng: RNG(seed: 0))
        m.isTraining = true
        let x = Tensor.rand([16, 3, 224, 224], rng: RNG(seed: 1))
        let t0 = Bench.now()
        try BenchModels.step(m, x, (0..<16).map { $0 })
        let dt = Bench.now() - t0
        let peak = ModelMemoryBench.peakRSS() ?? 0
        var table = Table(["model", "batch", "step (s)", "peak RSS (GiB)", "peak before (GiB)", "limit"])
        let gib = { (b: Int) in fmt(Double(b) / Double(1 << 30), 2) }
        table.add(["convnext_tiny", "16", fmt(dt, 1), gib(peak), gib(before), peak < 8 << 30 ? "fits 8 GiB" : "EXCEEDS 8 GiB"])
        print(table.render())
    }
}
