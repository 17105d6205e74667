// Ctrl-C reaches long engine loops (training, evaluation, attacks) through one flag: the
// runtime's SIGINT handler sets it, loops call `Interrupt.check()` between steps.

public enum Interrupt {
    /// Set by the SIGINT handler; cleared by whoever reports the interruption.
    public nonisolated(unsafe) static var requested = false

    /// Throws `EngineError.interrupted` (and clears the flag) when Ctrl-C was pressed.
    public static func check() throws {
        if requested {
            requested = false
            throw EngineError.interrupted
        }
    }
}
