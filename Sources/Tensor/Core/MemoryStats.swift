// MemoryStats: an optional count of the bytes held by live tensor buffers (`Storage`), with its
// high-water mark and what the cache of big freed buffers (`BigBuffers`, Storage.swift) held at
// that moment. Off unless the environment sets ADV_MEM_STATS=1 (then every Storage allocation
// and free takes a lock); `AdvBench step224` prints it beside the peak RSS
// (docs/architecture.md, "Memory").

import Foundation

/// Live tensor bytes and their peak, counted only when ADV_MEM_STATS=1.
public enum MemoryStats {
    /// True when ADV_MEM_STATS=1 was set at start-up.
    public static let enabled = ProcessInfo.processInfo.environment["ADV_MEM_STATS"] == "1"

    nonisolated(unsafe) private static var live = 0
    nonisolated(unsafe) private static var peak = 0
    nonisolated(unsafe) private static var cachedAtPeak = 0
    private static let lock = NSLock()

    /// Counts `bytes` allocated (positive) or freed (negative).
    static func add(_ bytes: Int) {
        lock.lock()
        defer { lock.unlock() }
        live += bytes
        if live > peak {
            peak = live
            cachedAtPeak = BigBuffers.heldBytesUnlocked
        }
    }

    /// The counts so far: live bytes now, their peak, and the bytes BigBuffers held at that peak.
    public static var snapshot: (live: Int, peak: Int, cachedAtPeak: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (live, peak, cachedAtPeak)
    }

    /// Bytes the cache of big freed buffers holds now (counted whether or not stats are on).
    public static var cachedBytes: Int { BigBuffers.heldBytes }

    /// Starts a new peak from the bytes live now.
    public static func resetPeak() {
        lock.lock()
        defer { lock.unlock() }
        peak = live
        cachedAtPeak = BigBuffers.heldBytesUnlocked
    }
}
