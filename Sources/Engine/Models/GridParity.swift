// Token-grid parity at small image sizes (`model(..., parity: true)`, docs/models.md, docs/reference.md
// section 6). The study compares the five architectures at their native grids at 224: the
// hierarchical models (ConvNeXt, Swin, PoolFormer, ResNet) see a 56x56 stage-1 map after a
// stride-4 stem, DeiT 14x14 tokens of patch 16. At 32x32 the stride-4 stems still give 8x8, but
// DeiT's patch 16 gives 2x2 tokens and Swin's window 7 covers a padded 8x8 map. Parity keeps the
// stems; each family declares its rule (`ModelFamily.gridParity`):
//   DeiT (DeiT+Family.swift): the patch whose grid is max(image/16, min(8, image/4)) tokens a
//         side: 16 at 224, 4 at 32 (8x8 tokens, as the hierarchical models' stage 1);
//   Swin (Swin+Family.swift): the largest window in 2...7 dividing the stage-1 map into at least
//         2x2 windows (7 at 224: 8x8 windows; 4 at 32: 2x2 windows, so shifted windows still happen);
//   ConvNeXt (patch 4), PoolFormer (7x7/4 stem), ResNet (7x7/2 + max pool): no rule, 8x8 at 32.
// Every model that sees fewer than 4x4 tokens after its stem gets one warning on stderr.
import Foundation

extension ModelConfig {
    /// The configuration with the token-grid parity settings for its image size (see above).
    public func withGridParity() -> ModelConfig {
        arch.family.gridParity(self) ?? self
    }
}

/// Warnings printed once per process.
enum OnceWarnings {
    nonisolated(unsafe) private static var seen = Set<String>()
    private static let lock = NSLock()

    /// Prints `message` on stderr (`Console.warn`: rank 0 only under mpirun) the first time `key` is seen; returns whether it printed.
    @discardableResult
    static func warn(_ key: String, _ message: String) -> Bool {
        lock.lock()
        let first = seen.insert(key).inserted
        lock.unlock()
        if first { Console.warn(message) }
        return first
    }

    /// Whether `key` has been warned about (tests).
    static func warned(_ key: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return seen.contains(key)
    }
}

extension Models {
    /// The smallest token grid side a model should see (docs/reference.md section 6).
    public static let minGridSide = 4

    /// Warns once (stderr) when `c` sees fewer than 4x4 tokens after its stem; returns the warning
    /// text when it applies (printed or not).
    @discardableResult
    static func warnSmallGrid(_ c: ModelConfig) -> String? {
        let s = c.stemGridSide
        guard s < minGridSide else { return nil }
        let fix = c.arch.family.gridParity(c) != nil ? " (parity: true picks the study's grid: docs/models.md)" : ""
        let msg = "model \(c.name) at image \(c.image) sees \(s)x\(s) tokens after its stem, fewer than \(minGridSide)x\(minGridSide)\(fix)"
        OnceWarnings.warn("grid \(c.name) \(c.image) \(c.patch)", msg)
        return msg
    }
}
