// Upper limits on the loop counts of the iterative attacks (docs/attacks.md, "Limits"): a typo
// like `restarts: 1e9` is an error at once instead of a run of days. Every loop under these
// limits also checks for Ctrl-C between iterations (`Interrupt.check()`).
import Tensor

public enum AttackLimits {
    /// Most iterations (steps) of PGD or APGD.
    public static let maxSteps = 100_000
    /// Most random restarts of PGD or APGD.
    public static let maxRestarts = 10_000

    /// Throws when `steps` or `restarts` is above its limit, naming the attack.
    static func check(_ attack: String, steps: Int, restarts: Int) throws {
        guard steps <= maxSteps else {
            throw EngineError.invalidArgument("\(attack): steps must be at most \(maxSteps), got \(steps)")
        }
        guard restarts <= maxRestarts else {
            throw EngineError.invalidArgument("\(attack): restarts must be at most \(maxRestarts), got \(restarts)")
        }
    }
}
