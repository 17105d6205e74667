// How the tensor library computes: which hand-written kernels run and on how many threads.
//
// One value, `Backend.current`, owns every such choice. It starts from the environment, read in
// exactly one place (`Backend.fromEnvironment`: ADV_AVX512, ADV_BF16, ADV_DW7, ADV_SMALLMAP,
// ADV_THREADS), and every change is passed down to the C side (cpu.c's kernel switches, pool.c's
// threads), which never reads the environment itself. Tests and benchmarks change it for a
// scope with `Backend.with({ $0.avx512 = false }) { ... }`, which restores the previous value.
// docs/architecture.md, "How a kernel is chosen", lists where each switch is read.
import CBLAS
import CKernels
import Foundation

/// Every kernel switch and thread setting of the tensor library.
public struct Backend: Equatable, CustomStringConvertible {
    /// The AVX-512 intrinsic kernels: attention's small products (smallgemm.c) and forward loop
    /// (attention512.c), softmax over short rows (softmax512.c) and, with `dw7`, ConvNeXt's 7x7
    /// depthwise convolution (depthwise512.c). Off: OpenBLAS and the portable loops. Only on a
    /// CPU with AVX-512 (`Backend.cpu`); ADV_AVX512=0 starts it off.
    public var avx512: Bool
    /// Products at precision bf16 on AVX512-BF16's `vdpbf16ps` (bf16gemm.c) instead of fp32
    /// sgemm over the rounded values: the same bf16 inputs and fp32 accumulation, another
    /// summation order, and bf16 denormals (below 1.2e-38) read as zero. Only with `avx512` on a
    /// CPU with AVX512-BF16; ADV_BF16=0 starts it off.
    public var bf16: Bool
    /// ConvNeXt's 7x7 depthwise convolution on the AVX-512 kernels of depthwise512.c (with
    /// `avx512`) instead of depthwise.c. ADV_DW7=0 starts it off.
    public var dw7: Bool
    /// Convolutions on small maps compute only the taps that see the image (Conv+SmallMap.swift)
    /// instead of im2col + sgemm over the padding too. ADV_SMALLMAP=0 starts it off.
    public var smallMap: Bool
    /// The largest column matrix, in floats, that one chunk of a small-map convolution builds
    /// (default 8M floats, 32 MB; tests lower it to exercise the chunking).
    public var smallMapColumnFloats: Int
    /// Threads of our parallel loops and split products (at least 1); OpenBLAS itself always
    /// runs single-threaded (Parallel.swift). ADV_THREADS, else the number of cores.
    public var threads: Int

    /// What this CPU offers, probed once by cpu.c: AVX-512 (with the OS saving its registers)
    /// and AVX512-BF16.
    public static let cpu = (avx512: adv_cpu_has_avx512() != 0, bf16: adv_cpu_has_bf16() != 0)

    /// The defaults: every kernel this CPU has, all cores.
    public init(avx512: Bool = true, bf16: Bool = true, dw7: Bool = true, smallMap: Bool = true,
                smallMapColumnFloats: Int = 8 << 20, threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.avx512 = avx512
        self.bf16 = bf16
        self.dw7 = dw7
        self.smallMap = smallMap
        self.smallMapColumnFloats = smallMapColumnFloats
        self.threads = threads
    }

    /// The backend the environment asks for: a switch is off when its variable is "0"
    /// (ADV_AVX512, ADV_BF16, ADV_DW7, ADV_SMALLMAP); ADV_THREADS sets the thread count when it
    /// is a number >= 1. The only place the tensor library reads the environment.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> Backend {
        var b = Backend()
        b.avx512 = env["ADV_AVX512"] != "0"
        b.bf16 = env["ADV_BF16"] != "0"
        b.dw7 = env["ADV_DW7"] != "0"
        b.smallMap = env["ADV_SMALLMAP"] != "0"
        if let s = env["ADV_THREADS"], let n = Int(s), n >= 1 { b.threads = n }
        return b
    }

    /// This value as it can run here: kernels the CPU lacks off, bf16 only with avx512, at
    /// least one thread and one column float.
    public var honoured: Backend {
        var b = self
        b.avx512 = avx512 && Backend.cpu.avx512
        b.bf16 = bf16 && b.avx512 && Backend.cpu.bf16
        b.threads = Swift.max(1, threads)
        b.smallMapColumnFloats = Swift.max(1, smallMapColumnFloats)
        return b
    }

    /// Storage of `current`: the environment's choice, handed to the C side on first use.
    nonisolated(unsafe) private static var installed: Backend = {
        let b = Backend.fromEnvironment().honoured
        openblas_set_num_threads(1)
        b.pass(from: nil)
        return b
    }()

    /// The backend in effect. Setting it applies the value as `honoured` (reading it back shows
    /// what runs) and passes the switches and thread count to the C side. Change it only while
    /// no computation is running.
    public static var current: Backend {
        get { installed }
        set {
            let b = newValue.honoured
            b.pass(from: installed)
            installed = b
        }
    }

    /// Hands the C side what differs from `old` (everything when nil).
    private func pass(from old: Backend?) {
        if old?.avx512 != avx512 { adv_set_avx512(avx512 ? 1 : 0) }
        if old?.bf16 != bf16 { adv_set_bf16(bf16 ? 1 : 0) }
        if old?.threads != threads { adv_pool_set_threads(threads) }
    }

    /// Runs `body` with `current` changed by `change`, restoring the previous value afterwards
    /// (also when `body` throws), as `Precision.with` does.
    /// `try Backend.with({ $0.avx512 = false }) { ... }`
    public static func with<T>(_ change: (inout Backend) -> Void, _ body: () throws -> T) rethrows -> T {
        let saved = current
        var b = saved
        change(&b)
        current = b
        defer { current = saved }
        return try body()
    }

    public var description: String {
        "avx512 \(avx512), bf16 \(bf16), dw7 \(dw7), smallMap \(smallMap), threads \(threads)"
    }
}
