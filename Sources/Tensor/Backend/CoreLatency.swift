// CoreLatency: the round trip of one cache line between two CPUs (CKernels/corelatency.c), a probe
// of where the host placed them. On the benchmark machine (2 vCPUs of an AMD EPYC host) it is
// about 55-60 ns when the two vCPUs share an L3 cache and about 330 ns when they do not, and the
// two-thread speed of small-map training follows it (docs/architecture.md, "Where the two vCPUs
// sit"). The benchmarks print it beside their results.
import CKernels

public enum CoreLatency {
    /// Round trip in nanoseconds between CPU `a` (the calling thread, pinned for the call and
    /// restored after) and CPU `b` (the first-quartile batch of 99), or nil when it cannot be
    /// measured: a == b, no such CPU, not Linux, or the other CPU stayed busy for longer than
    /// `budget` seconds in one batch.
    /// - Parameters:
    ///   - a: the caller's CPU.
    ///   - b: the helper thread's CPU.
    ///   - rounds: round trips per batch (99 batches).
    ///   - budget: seconds a batch may take before the measurement gives up.
    public static func roundTrip(_ a: Int = 0, _ b: Int = 1, rounds: Int = 500, budget: Double = 0.2) -> Double? {
        guard a >= 0, b >= 0, a != b, rounds > 0 else { return nil }
        let ns = adv_core_roundtrip_ns(Int32(a), Int32(b), rounds, budget * 1e9)
        return ns > 0 ? ns : nil
    }
}
