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
}
