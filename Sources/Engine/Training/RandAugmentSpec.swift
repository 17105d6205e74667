// timm's RandAugment config strings: "rand-m9-mstd0.5-inc1" (magnitude 9, magnitude noise std 0.5,
// "increasing" op set, 2 ops per image unless "-n3" etc.).

import Tensor

/// A parsed RandAugment configuration.
public struct RandAugmentSpec: Equatable, CustomStringConvertible {
    public var magnitude: Double
    public var std: Double
    public var ops: Int
    public var increasing: Bool

    public init(magnitude: Double, std: Double = 0.5, ops: Int = 2, increasing: Bool = true) {
        self.magnitude = magnitude; self.std = std; self.ops = ops; self.increasing = increasing
    }

    /// Parses timm's form "rand-m9-mstd0.5-inc1" (sections in any order after "rand").
    /// - Parameter text: the config string.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "-").map(String.init)
        guard parts.first == "rand" else {
            throw EngineError.invalidArgument("randaugment: \"\(text)\" must start with \"rand-\" (e.g. \"rand-m9-mstd0.5-inc1\")")
        }
        var spec = RandAugmentSpec(magnitude: 10, std: 0, ops: 2, increasing: false)
        for p in parts.dropFirst() {
            func num(_ prefix: String) throws -> Double {
                guard let v = Double(p.dropFirst(prefix.count)), v.isFinite else {
                    throw EngineError.invalidArgument("randaugment: bad section \"\(p)\" in \"\(text)\"")
                }
                return v
            }
            if p.hasPrefix("mstd") { spec.std = try num("mstd") }
            else if p.hasPrefix("inc") { spec.increasing = try num("inc") != 0 }
            else if p.hasPrefix("m") { spec.magnitude = try num("m") }
            else if p.hasPrefix("n") {
                let n = try num("n")
                guard n >= 1, n <= 16, n == n.rounded() else { throw EngineError.invalidArgument("randaugment: n must be a whole number in 1...16 in \"\(text)\"") }
                spec.ops = Int(n)
            } else {
                throw EngineError.invalidArgument("randaugment: unknown section \"\(p)\" in \"\(text)\" (known: m, mstd, n, inc)")
            }
        }
        guard spec.magnitude >= 0, spec.magnitude <= 10 else {
            throw EngineError.invalidArgument("randaugment: magnitude must be in [0, 10], got \(spec.magnitude)")
        }
        guard spec.std >= 0 else { throw EngineError.invalidArgument("randaugment: mstd must be >= 0 in \"\(text)\"") }
        self = spec
    }

    /// timm's config string.
    public var description: String {
        "rand-m\(fmt(magnitude))-mstd\(fmt(std))" + (ops != 2 ? "-n\(ops)" : "") + (increasing ? "-inc1" : "")
    }
}
