// Ctrl-C reaches long engine loops (training, evaluation, attacks) through one flag: the
// runtime's SIGINT handler sets it, loops call `Interrupt.check()` between steps.
import Foundation

public enum Interrupt {
    /// Set by the SIGINT handler; cleared by whoever reports the interruption.
    public nonisolated(unsafe) static var requested = false
    /// When `requested` was last set (`monotonicSeconds`), for the handler's double-Ctrl-C rule.
    public nonisolated(unsafe) static var requestedAt = 0.0

    /// A monotonic clock in seconds (async-signal-safe: clock_gettime).
    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Throws `EngineError.interrupted` (and clears the flag) when Ctrl-C was pressed.
    public static func check() throws {
        if requested {
            requested = false
            throw EngineError.interrupted
        }
    }
}
