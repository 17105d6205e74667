// Runs a fuzz target for a number of inputs from a seed (docs/reliability.md, "Fuzzing"):
// each input is a mutation of a seed or of an earlier input that the target accepted (a small,
// growing pool), so later inputs reach deeper than random bytes. Counts what happened; a crash
// ends the process (the executable keeps the input being run in a file to reproduce it).
import Engine
import Foundation
import Tensor

public struct CampaignStats: CustomStringConvertible {
    public var inputs = 0
    public var accepted = 0
    public var refused = 0
    public var seconds = 0.0
    /// The slowest input, in seconds.
    public var slowest = 0.0
    public var description: String {
        String(format: "%d inputs (%d accepted, %d refused) in %.1f s, slowest input %.3f s", inputs, accepted, refused, seconds, slowest)
    }
}

public enum Campaign {
    /// Files of `dir` (not recursive), as byte arrays; empty when the folder is missing.
    public static func corpus(_ dir: String) -> [[UInt8]] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        return names.sorted().compactMap { try? FileContents.read(dir + "/" + $0, limit: 1 << 20) }
    }

    /// Runs `count` inputs through `target`.
    /// - Parameters:
    ///   - corpus: extra seeds (the corpus folder's files); they also run once unmutated first.
    ///   - seed: the mutation generator's seed.
    ///   - beforeEach: called with each input before it runs (the executable saves it).
    public static func run(_ target: FuzzTarget, count: Int, seed: UInt64, corpus: [[UInt8]] = [],
                           beforeEach: (([UInt8]) -> Void)? = nil, progress: ((CampaignStats) -> Void)? = nil) throws -> CampaignStats {
        var rng = FuzzRNG(seed: seed)
        let seeds = try target.seeds() + corpus
        var pool = seeds.isEmpty ? [[UInt8]()] : seeds
        var stats = CampaignStats()
        let start = Date()
        func one(_ input: [UInt8]) {
            beforeEach?(input)
            let t0 = Date()
            let outcome = target.run(input)
            stats.slowest = max(stats.slowest, Date().timeIntervalSince(t0))
            stats.inputs += 1
            if outcome == .accepted {
                stats.accepted += 1
                // Accepted inputs join the pool (bounded; a random member is replaced when full).
                if pool.count < seeds.count + 256 { pool.append(input) } else { pool[seeds.count + rng.int(256)] = input }
            } else {
                stats.refused += 1
            }
        }
        for s in seeds where stats.inputs < count { one(s) }
        while stats.inputs < count {
            let base = rng.pick(pool), other = rng.pick(pool)
            one(Mutator.mutate(base, other: other, dictionary: target.dictionary, rng: &rng))
            if stats.inputs % 10_000 == 0 {
                stats.seconds = Date().timeIntervalSince(start)
                progress?(stats)
            }
        }
        stats.seconds = Date().timeIntervalSince(start)
        return stats
    }
}
