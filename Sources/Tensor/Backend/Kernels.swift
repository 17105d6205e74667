// Run-time switches of the hand-written C kernels (Sources/CKernels).
import CKernels

/// The kernel choices a benchmark or test may flip.
public enum Kernels {
    /// Whether the AVX-512 intrinsic kernels run: attention's small products (smallgemm.c) and
    /// softmax over short rows (softmax512.c). True when the CPU has AVX-512, unless ADV_AVX512=0
    /// is set; setting it false uses OpenBLAS and the portable loops instead, true re-enables the
    /// kernels only on a CPU that has AVX-512. Flip it only while no computation is running.
    public static var avx512: Bool {
        get { adv_has_avx512() != 0 }
        set { adv_set_avx512(newValue ? 1 : 0) }
    }

    /// Whether products at precision bf16 run on the AVX512-BF16 kernel (bf16gemm.c: vdpbf16ps,
    /// up to twice the fp32 rate) instead of fp32 sgemm over the rounded values. True when the
    /// CPU has AVX512-BF16 and `avx512` is on, unless ADV_BF16=0 is set. Both give the products
    /// of the same bf16 inputs with fp32 accumulation; they differ in summation order, and the
    /// instructions treat bf16 denormals (below 1.2e-38) as zero. Flip it only while no
    /// computation is running.
    public static var bf16: Bool {
        get { adv_has_bf16() != 0 }
        set { adv_set_bf16(newValue ? 1 : 0) }
    }
}
