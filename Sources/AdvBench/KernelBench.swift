// Kernel benchmark: matmul, conv2d, depthwise, attention, layer norm, GELU and softmax at the
// shapes of the five architectures, against the sgemm peak and copy bandwidth of this run.
import CBLAS
import Engine
import Tensor
import Foundation

struct KernelBench: BenchSection {
    let name = "kernels"

    /// A compute-bound case: GFLOP/s against the sgemm peak.
    struct ComputeCase {
        let kernel: String, res: String, shape: String
        let flops: Double
        let target: Double?
        let make: () throws -> (forward: () throws -> Tensor, inputs: [Tensor])
    }

    /// A memory-bound case: GB/s against the copy bandwidth.
    struct MemoryCase {
        let kernel: String, res: String, shape: String
        let bytes: Double
        let flops: Double
        let make: () throws -> () throws -> Tensor
    }

    func run(_ ctx: BenchContext) throws {
        measureReferences(ctx)
        print("\n## Kernels (threads \(Parallel.threads); sgemm peak \(fmt(ctx.sgemmPeak)) GFLOP/s, copy bandwidth \(fmt(ctx.bandwidth)) GB/s)\n")
        var t = Table(["kernel", "res", "shape", "fwd ms", "fwd GFLOP/s", "% peak", "fwd+bwd GFLOP/s", "% peak", "target"])
        for c in computeCases() {
            let (fwd, inputs) = try c.make()
            let tf = try Bench.time(budget: ctx.budget) { _ = try Autograd.noGrad { try fwd() } }
            for i in inputs { i.requiresGrad = true }
            let tb = try Bench.time(budget: ctx.budget) {
                let y = try fwd()
                try y.backward(seed: Tensor(shape: y.shape, repeating: 1))
                for i in inputs { i.grad = nil }
            }
            let gf = c.flops / tf / 1e9, gb = 3 * c.flops / tb / 1e9
            let ok = ctx.sgemmPeak <= 1 ? "" : c.target.map { gf / ctx.sgemmPeak >= $0 ? "met (>= \(pct($0)))" : "MISSED (>= \(pct($0)))" } ?? ""
            t.add([c.kernel, c.res, c.shape, fmt(tf * 1e3, 2), fmt(gf), pct(gf / ctx.sgemmPeak), fmt(gb), pct(gb / ctx.sgemmPeak), ok])
        }
        print(t.render())
        print("\nfwd+bwd counts 3x the forward FLOPs. Targets apply to the 224 forward pass.\n")
        var m = Table(["kernel", "res", "shape", "ms", "GB/s", "% bandwidth", "GFLOP/s", "bound GB/s", "% of bound",
                       "target (>= 50% bw)"])
        for c in memoryCases() {
            let f = try c.make()
            let tm = try Bench.time(budget: ctx.budget) { _ = try Autograd.noGrad { try f() } }
            let gbs = c.bytes / tm / 1e9
            let frac = gbs / ctx.bandwidth
            // Roofline: the traffic a kernel can move is also capped by its FLOPs at the sgemm peak.
            let bound = c.flops > 0 ? Swift.min(ctx.bandwidth, ctx.sgemmPeak * c.bytes / c.flops) : ctx.bandwidth
            m.add([c.kernel, c.res, c.shape, fmt(tm * 1e3, 2), fmt(gbs), pct(frac), fmt(c.flops / tm / 1e9),
                   fmt(bound), pct(gbs / bound), ctx.bandwidth <= 1 ? "" : frac >= 0.5 ? "met" : "MISSED"])
        }
        print(m.render())
        print("\nGB/s counts one read of each input and one write of the output (the minimum traffic). The bound is")
        print("the smaller of the copy bandwidth and what the kernel's FLOPs allow at the sgemm peak (a 7x7")
        print("depthwise convolution does 98 FLOPs per 8 bytes, so the FMA units cap it below the bandwidth).")
    }

    /// Best sgemm GFLOP/s (square 1536: one OpenBLAS call, or the engine's product split over its pool) and
    /// copy bandwidth (256 MB, all threads).
    /// ADV_BENCH_REFS=0 skips both (the percentages are then against 1 GFLOP/s and 1 GB/s), so a
    /// profile of one kernel (`perf record`) is not dominated by the references.
    func measureReferences(_ ctx: BenchContext) {
        if ProcessInfo.processInfo.environment["ADV_BENCH_REFS"] == "0" {
            ctx.sgemmPeak = 1
            ctx.bandwidth = 1
            return
        }
        let n = 1536
        let a = Tensor.randn([n, n], rng: RNG(seed: 1)), b = Tensor.randn([n, n], rng: RNG(seed: 2)), c = Tensor(zeros: [n, n])
        let tg = Bench.time(budget: Swift.max(ctx.budget, 0.5)) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a.ptr, Int32(n), b.ptr, Int32(n), 0, c.ptr, Int32(n))
        }
        // The engine's own path (products split across our threads, OpenBLAS single-threaded
        // inside) is measured too; the better of the two is the reference.
        let te = Bench.time(budget: Swift.max(ctx.budget, 0.5)) { _ = try? Autograd.noGrad { try Tensor.matmul(a, b, precision: .fp32) } }
        ctx.sgemmPeak = 2 * Double(n * n * n) / Swift.min(tg, te) / 1e9
        let count = 64 << 20
        let src = Tensor(shape: [count], repeating: 1), dst = Tensor(zeros: [count])
        let ps = src.ptr, pd = dst.ptr
        let tc = Bench.time(budget: Swift.max(ctx.budget, 0.5)) {
            Parallel.forEach(count, minChunk: 1 << 20) { r in (pd + r.lowerBound).update(from: ps + r.lowerBound, count: r.count) }
        }
        ctx.bandwidth = 2 * Double(count * 4) / tc / 1e9
    }

    // MARK: cases

    func conv(_ kernel: String, _ res: String, n: Int, cin: Int, hw: Int, cout: Int, k: Int, s: Int, p: Int,
              groups: Int = 1, target: Double? = nil, precision: Precision = .fp32) -> ComputeCase {
        let ho = (hw + 2 * p - k) / s + 1
        let flops = 2.0 * Double(n * cout * ho * ho) * Double(cin / groups * k * k)
        return ComputeCase(kernel: kernel, res: res, shape: "\(n)x\(cin)x\(hw)x\(hw) -> \(cout) k\(k) s\(s) p\(p)\(groups > 1 ? " g\(groups)" : "")",
                           flops: flops, target: target) {
            let x = Tensor.randn([n, cin, hw, hw], rng: RNG(seed: 3))
            let w = Tensor.randn([cout, cin / groups, k, k], rng: RNG(seed: 4)).mul(scalar: 0.1)
            let b = Tensor(zeros: [cout])
            return ({ try Tensor.conv2d(x, weight: w, bias: b, stride: (s, s), padding: (p, p), groups: groups, precision: precision) }, [x, w, b])
        }
    }

    func linear(_ kernel: String, _ res: String, rows: Int, inF: Int, outF: Int, target: Double? = nil,
                precision: Precision = .fp32) -> ComputeCase {
        ComputeCase(kernel: kernel, res: res, shape: "(\(rows), \(inF)) x (\(outF), \(inF))^T", flops: 2.0 * Double(rows * inF * outF), target: target) {
            let x = Tensor.randn([rows, inF], rng: RNG(seed: 5)), w = Tensor.randn([outF, inF], rng: RNG(seed: 6))
            return ({ try Tensor.linear(x, weight: w, bias: nil, precision: precision) }, [x, w])
        }
    }

    func attention(_ kernel: String, _ res: String, b: Int, h: Int, t: Int, d: Int, bias: Bool, target: Double? = nil,
                   precision: Precision = .fp32) -> ComputeCase {
        ComputeCase(kernel: kernel, res: res, shape: "B\(b) H\(h) T\(t) D\(d)\(bias ? " +bias" : "")", flops: 4.0 * Double(b * h * t * t * d), target: target) {
            let q = Tensor.randn([b, h, t, d], rng: RNG(seed: 7)), k = Tensor.randn([b, h, t, d], rng: RNG(seed: 8))
            let v = Tensor.randn([b, h, t, d], rng: RNG(seed: 9))
            let bb = bias ? Tensor.randn([h, t, t], rng: RNG(seed: 10)) : nil
            return ({ try Tensor.attention(q: q, k: k, v: v, bias: bb, scale: 1 / Float(d).squareRoot(), precision: precision) }, [q, k, v])
        }
    }

    /// ConvNeXt's conv_mlp branch (LayerNorm2d, 1x1 conv to 4C, GELU, 1x1 conv to C, layer-scaled
    /// residual): in the packed layout (Tensor/Ops/ConvMlp.swift) or with the NCHW ops; the same
    /// values. FLOPs count the two products.
    func convMlp(_ kernel: String, _ res: String, n: Int, c: Int, hw: Int, packed: Bool) -> ComputeCase {
        ComputeCase(kernel: kernel, res: res, shape: "\(n)x\(c)x\(hw)x\(hw), 4C", flops: 4.0 * Double(n * hw * hw * c * 4 * c), target: nil) {
            let x = Tensor.randn([n, c, hw, hw], rng: RNG(seed: 21)), h = Tensor.randn([n, c, hw, hw], rng: RNG(seed: 22))
            let nw = Tensor(shape: [c], repeating: 1), nb = Tensor(zeros: [c]), gamma = Tensor(shape: [c], repeating: 1e-1)
            let w1 = Tensor.randn([4 * c, c, 1, 1], rng: RNG(seed: 23)), b1 = Tensor(zeros: [4 * c])
            let w2 = Tensor.randn([c, 4 * c, 1, 1], rng: RNG(seed: 24)), b2 = Tensor(zeros: [c])
            let fwd: () throws -> Tensor = packed ? {
                var p = try Tensor.layerNorm2dPacked(h, weight: nw, bias: nb, eps: 1e-6)
                p = try Tensor.pointwisePacked(p, weight: w1, bias: b1, images: n, height: hw, width: hw).gelu()
                p = try Tensor.pointwisePacked(p, weight: w2, bias: b2, images: n, height: hw, width: hw)
                return try Tensor.scaledResidual(x, packed: p, scale: gamma)
            } : {
                let y = try Tensor.layerNorm2d(h, weight: nw, bias: nb, eps: 1e-6)
                let z = try Tensor.conv2d(Tensor.conv2d(y, weight: w1, bias: b1).gelu(), weight: w2, bias: b2)
                return try Tensor.scaledResidual(x, z, scale: gamma)
            }
            return (fwd, [x, h])
        }
    }

    func computeCases() -> [ComputeCase] {
        [
            linear("matmul (DeiT-S qkv)", "224", rows: 8 * 197, inF: 384, outF: 1152),
            linear("matmul (ConvNeXt-T mlp)", "224", rows: 8 * 3136, inF: 96, outF: 384),
            linear("matmul (mlp)", "32", rows: 64 * 64, inF: 96, outF: 384),
            // DeiT-tiny with 4x4 patches at 32x32 (65 tokens, batch 64): qkv, proj, fc1, fc2.
            linear("matmul (DeiT-Ti qkv)", "32", rows: 64 * 65, inF: 192, outF: 576),
            linear("matmul (DeiT-Ti proj)", "32", rows: 64 * 65, inF: 192, outF: 192),
            linear("matmul (DeiT-Ti fc1)", "32", rows: 64 * 65, inF: 192, outF: 768),
            linear("matmul (DeiT-Ti fc2)", "32", rows: 64 * 65, inF: 768, outF: 192),
            // bf16 products (AVX512-BF16 where the CPU has it; % peak is against the fp32 sgemm peak).
            linear("matmul bf16 (DeiT-Ti fc1)", "32", rows: 64 * 65, inF: 192, outF: 768, precision: .bf16),
            linear("matmul bf16 (DeiT-S qkv)", "224", rows: 8 * 197, inF: 384, outF: 1152, precision: .bf16),
            conv("conv 3x3 (ResNet)", "224", n: 8, cin: 64, hw: 56, cout: 64, k: 3, s: 1, p: 1, target: 0.7),
            conv("conv 3x3 bf16 (ResNet)", "224", n: 8, cin: 64, hw: 56, cout: 64, k: 3, s: 1, p: 1, precision: .bf16),
            // A 1x1 on a 14x14 map: 8 images per product, gathered in fp32, read and written in
            // place in bf16 (Conv+Images.swift).
            conv("conv 1x1 (ResNet st3, 8 images per product)", "224", n: 8, cin: 1024, hw: 14, cout: 256, k: 1, s: 1, p: 0),
            conv("conv 1x1 bf16 (ResNet st3, 8 images per product)", "224", n: 8, cin: 1024, hw: 14, cout: 256, k: 1, s: 1, p: 0,
                 precision: .bf16),
            conv("conv 3x3 (ResNet)", "224", n: 8, cin: 256, hw: 14, cout: 256, k: 3, s: 1, p: 1, target: 0.7),
            conv("conv 3x3 (ResNet)", "32", n: 64, cin: 64, hw: 32, cout: 64, k: 3, s: 1, p: 1),
            // ResNet-50's 3x3 convs at 32x32 on 4x4, 2x2 and 1x1 maps; FLOPs count all 9 taps.
            conv("conv 3x3 (ResNet st2, 4x4 map)", "32", n: 64, cin: 128, hw: 4, cout: 128, k: 3, s: 1, p: 1),
            conv("conv 3x3 (ResNet st3, 2x2 map)", "32", n: 64, cin: 256, hw: 2, cout: 256, k: 3, s: 1, p: 1),
            conv("conv 3x3 (ResNet st4, 1x1 map)", "32", n: 64, cin: 512, hw: 1, cout: 512, k: 3, s: 1, p: 1),
            conv("conv 3x3/s2 (ResNet st4, 2x2 map)", "32", n: 64, cin: 512, hw: 2, cout: 512, k: 3, s: 2, p: 1),
            conv("conv 1x1 (ResNet)", "224", n: 8, cin: 256, hw: 56, cout: 64, k: 1, s: 1, p: 0, target: 0.7),
            conv("conv 1x1 (PoolFormer)", "32", n: 64, cin: 64, hw: 8, cout: 256, k: 1, s: 1, p: 0),
            conv("conv 4x4/s4 stem (ConvNeXt/Swin)", "224", n: 8, cin: 3, hw: 224, cout: 96, k: 4, s: 4, p: 0, target: 0.7),
            conv("conv 4x4/s4 stem", "32", n: 64, cin: 3, hw: 32, cout: 96, k: 4, s: 4, p: 0),
            conv("conv 7x7/s2 stem (ResNet)", "224", n: 8, cin: 3, hw: 224, cout: 64, k: 7, s: 2, p: 3, target: 0.7),
            conv("conv 7x7/s4 stem (PoolFormer)", "224", n: 8, cin: 3, hw: 224, cout: 64, k: 7, s: 4, p: 2, target: 0.7),
            conv("conv 2x2/s2 downsample", "224", n: 8, cin: 96, hw: 56, cout: 192, k: 2, s: 2, p: 0, target: 0.7),
            conv("conv 2x2/s2 downsample", "32", n: 64, cin: 96, hw: 8, cout: 192, k: 2, s: 2, p: 0),
            attention("attention (DeiT-S)", "224", b: 8, h: 6, t: 197, d: 64, bias: false, target: 0.6),
            attention("attention (Swin-T win 7x7)", "224", b: 8 * 64, h: 3, t: 49, d: 32, bias: true, target: 0.6),
            attention("attention (ViT 4x4 patches)", "32", b: 64, h: 6, t: 65, d: 64, bias: false),
            attention("attention (Swin win 4x4)", "32", b: 64 * 16, h: 2, t: 16, d: 32, bias: true),
            // bf16: all products on AVX512-BF16 where the CPU has it (ADV_BF16=0: fp32 FMAs on rounded copies).
            attention("attention bf16 (DeiT-S)", "224", b: 8, h: 6, t: 197, d: 64, bias: false, precision: .bf16),
            attention("attention bf16 (Swin-T win 7x7)", "224", b: 8 * 64, h: 3, t: 49, d: 32, bias: true, precision: .bf16),
            attention("attention bf16 (Swin win 4x4)", "32", b: 64 * 16, h: 2, t: 16, d: 32, bias: true, precision: .bf16),
            // ConvNeXt-atto's depthwise convs at 32x32 (stages 1-4: 8x8 to 1x1 maps); FLOPs count all 49 taps.
            conv("depthwise 7x7 (ConvNeXt st1)", "32", n: 64, cin: 40, hw: 8, cout: 40, k: 7, s: 1, p: 3, groups: 40),
            conv("depthwise 7x7 (ConvNeXt st2)", "32", n: 64, cin: 80, hw: 4, cout: 80, k: 7, s: 1, p: 3, groups: 80),
            conv("depthwise 7x7 (ConvNeXt st3)", "32", n: 64, cin: 160, hw: 2, cout: 160, k: 7, s: 1, p: 3, groups: 160),
            conv("depthwise 7x7 (ConvNeXt st4)", "32", n: 64, cin: 320, hw: 1, cout: 320, k: 7, s: 1, p: 3, groups: 320),
            // ConvNeXt-atto's conv_mlp branch at the AutoAttack benchmark's batch (issue 19): packed vs NCHW ops.
            convMlp("conv_mlp branch packed (ConvNeXt-atto st1)", "32", n: 232, c: 16, hw: 8, packed: true),
            convMlp("conv_mlp branch NCHW (ConvNeXt-atto st1)", "32", n: 232, c: 16, hw: 8, packed: false),
            convMlp("conv_mlp branch packed (ConvNeXt-atto st4)", "32", n: 232, c: 128, hw: 1, packed: true),
            convMlp("conv_mlp branch NCHW (ConvNeXt-atto st4)", "32", n: 232, c: 128, hw: 1, packed: false),
        ].filter { Self.wanted($0.kernel) }
    }

    /// ADV_BENCH_KERNELS=depthwise,softmax keeps only the rows whose kernel name contains one of the words.
    static func wanted(_ kernel: String) -> Bool {
        guard let only = ProcessInfo.processInfo.environment["ADV_BENCH_KERNELS"], !only.isEmpty else { return true }
        return only.split(separator: ",").contains { kernel.contains($0) }
    }

    func memoryCases() -> [MemoryCase] {
        func dw(_ res: String, n: Int, c: Int, hw: Int) -> MemoryCase {
            let count = n * c * hw * hw
            return MemoryCase(kernel: "depthwise 7x7 (ConvNeXt)", res: res, shape: "\(n)x\(c)x\(hw)x\(hw) p3",
                              bytes: Double(count * 8), flops: 2.0 * 49 * Double(count)) {
                let x = Tensor.randn([n, c, hw, hw], rng: RNG(seed: 11))
                let w = Tensor.randn([c, 1, 7, 7], rng: RNG(seed: 12)), b = Tensor(zeros: [c])
                return { try Tensor.conv2d(x, weight: w, bias: b, stride: (1, 1), padding: (3, 3), groups: c) }
            }
        }
        func ln(_ res: String, rows: Int, d: Int) -> MemoryCase {
            MemoryCase(kernel: "layer norm", res: res, shape: "(\(rows), \(d))", bytes: Double(rows * d * 8), flops: 8.0 * Double(rows * d)) {
                let x = Tensor.randn([rows, d], rng: RNG(seed: 13))
                let w = Tensor(shape: [d], repeating: 1), b = Tensor(zeros: [d])
                return { try Tensor.layerNorm(x, weight: w, bias: b, eps: 1e-6) }
            }
        }
        // ConvNeXt-T's block norm: NCHW in, channels-last rows out (Tensor.layerNorm2dChannelsLast)
        // against the permute to NHWC (a transposed copy) and the row norm it replaced.
        func lnChannelsLast(_ res: String, n: Int, c: Int, hw: Int, fused: Bool) -> MemoryCase {
            MemoryCase(kernel: fused ? "layer norm NCHW -> NHWC (ConvNeXt-T)" : "layer norm (permute + rows, ConvNeXt-T)", res: res,
                       shape: "\(n)x\(c)x\(hw)x\(hw)", bytes: Double(n * c * hw * hw * 8), flops: 8.0 * Double(n * c * hw * hw)) {
                let x = Tensor.randn([n, c, hw, hw], rng: RNG(seed: 13))
                let w = Tensor(shape: [c], repeating: 1), b = Tensor(zeros: [c])
                if fused { return { try Tensor.layerNorm2dChannelsLast(x, weight: w, bias: b, eps: 1e-6) } }
                return { try Tensor.layerNorm(x.permute([0, 2, 3, 1]), weight: w, bias: b, eps: 1e-6) }
            }
        }
        func gelu(_ res: String, count: Int) -> MemoryCase {
            MemoryCase(kernel: "GELU", res: res, shape: "(\(count))", bytes: Double(count * 8), flops: 0) {
                let x = Tensor.randn([count], rng: RNG(seed: 14))
                return { x.gelu() }
            }
        }
        func softmax(_ res: String, rows: Int, d: Int) -> MemoryCase {
            MemoryCase(kernel: "softmax", res: res, shape: "(\(rows), \(d))", bytes: Double(rows * d * 8), flops: 0) {
                let x = Tensor.randn([rows, d], rng: RNG(seed: 15))
                return { try x.softmax(axis: -1) }
            }
        }
        func add(_ res: String, _ a: [Int], _ b: [Int]) -> MemoryCase {
            let n = a.reduce(1, *), nb = b.reduce(1, *)
            return MemoryCase(kernel: "add (broadcast)", res: res, shape: "\(a) + \(b)", bytes: Double((2 * n + nb) * 4), flops: 0) {
                let x = Tensor.randn(a, rng: RNG(seed: 16)), y = Tensor.randn(b, rng: RNG(seed: 17))
                return { try x.add(y) }
            }
        }
        // Swin's shifted-window partition (Tensor.windowPartition, one gather) against the
        // roll + reshape/permute/reshape it replaced (two copies).
        func window(_ res: String, b: Int, hw: Int, c: Int, w: Int, fused: Bool) -> MemoryCase {
            let s = w / 2
            return MemoryCase(kernel: fused ? "swin window partition" : "swin window partition (roll + permute)", res: res,
                              shape: "\(b)x\(hw)x\(hw)x\(c) w\(w) shift \(s)", bytes: Double(b * hw * hw * c * 8), flops: 0) {
                let x = Tensor.randn([b, hw, hw, c], rng: RNG(seed: 18))
                if fused { return { try Tensor.windowPartition(x, window: w, shift: s) } }
                return {
                    try x.roll(shifts: [-s, -s], axes: [1, 2]).reshape([b, hw / w, w, hw / w, w, c]).permute([0, 1, 3, 2, 4, 5])
                        .reshape([b * (hw / w) * (hw / w), w * w, c])
                }
            }
        }
        // ResNet's batch norm fused with the shortcut add and GELU (evaluation statistics), and its
        // stem's max pool (Ops/BatchNormAct.swift, Ops/Pool.swift).
        func bnAct(_ res: String, _ s: [Int]) -> MemoryCase {
            let n = s.reduce(1, *), c = s[1]
            return MemoryCase(kernel: "batch norm + add + GELU (ResNet)", res: res, shape: "\(s)", bytes: Double(3 * n * 4), flops: 0) {
                let x = Tensor.randn(s, rng: RNG(seed: 18)), r = Tensor.randn(s, rng: RNG(seed: 19))
                let w = Tensor(shape: [c], repeating: 1), b = Tensor(zeros: [c])
                let rm = Tensor(zeros: [c]), rv = Tensor(shape: [c], repeating: 1)
                return { try Tensor.batchNorm(x, weight: w, bias: b, runningMean: rm, runningVar: rv, training: false, residual: r, act: .gelu) }
            }
        }
        func maxPool(_ res: String, _ s: [Int]) -> MemoryCase {
            let n = s.reduce(1, *)
            return MemoryCase(kernel: "max pool 3x3/s2 (ResNet stem)", res: res, shape: "\(s)", bytes: Double(n * 4 + n), flops: 0) {
                let x = Tensor.randn(s, rng: RNG(seed: 20))
                return { try x.maxPool2d(kernel: 3, stride: 2, padding: 1) }
            }
        }
        return [
            bnAct("224", [8, 256, 56, 56]), maxPool("224", [8, 64, 112, 112]),
            add("224", [8, 96, 56, 56], [8, 96, 56, 56]), add("224", [8, 96, 56, 56], [1, 96, 1, 1]),
            dw("224", n: 8, c: 96, hw: 56), dw("224", n: 8, c: 384, hw: 14), dw("32", n: 64, c: 96, hw: 8),
            ln("224", rows: 8 * 3136, d: 96), ln("224", rows: 8 * 197, d: 384), ln("32", rows: 64 * 64, d: 96),
            lnChannelsLast("224", n: 8, c: 96, hw: 56, fused: true), lnChannelsLast("224", n: 8, c: 96, hw: 56, fused: false),
            gelu("224", count: 8 * 3136 * 384), gelu("32", count: 64 * 64 * 384),
            softmax("224", rows: 8 * 6 * 197, d: 197), softmax("224", rows: 8 * 64 * 3 * 49, d: 49), softmax("32", rows: 64 * 6 * 65, d: 65),
            window("224", b: 8, hw: 56, c: 96, w: 7, fused: true), window("224", b: 8, hw: 56, c: 96, w: 7, fused: false),
            window("32", b: 64, hw: 16, c: 64, w: 4, fused: true), window("32", b: 64, hw: 16, c: 64, w: 4, fused: false),
        ].filter { Self.wanted($0.kernel) }
    }
}
