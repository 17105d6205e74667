// Storage: the raw float32 buffer behind a tensor, and the cache of big freed buffers
// (`BigBuffers`) that keeps large allocations from page-faulting on every training step. How
// malloc itself keeps freed memory is set when the program loads (CKernels/malloc_tuning.c;
// docs/architecture.md, "Memory").

import Foundation

/// The raw float32 buffer behind a tensor. Owned by exactly one allocation; freed on deinit.
public final class Storage {
    public let ptr: UnsafeMutablePointer<Float>
    public let count: Int

    /// Allocates `count` floats, zero-filled.
    public init(count: Int) {
        self.count = count
        ptr = BigBuffers.take(count) ?? UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        if MemoryStats.enabled { MemoryStats.add(count * 4) }
        let p = ptr
        if count >= Storage.parallelFill {
            Parallel.forEach(count, minChunk: Storage.parallelFill / 2) { r in (p + r.lowerBound).initialize(repeating: 0, count: r.count) }
        } else {
            p.initialize(repeating: 0, count: max(count, 1))
        }
    }

    /// From this many floats (1 MB) zero fills and copies run on both threads (serial memsets and
    /// copies of gradients were the largest serial part of a ResNet training step).
    static let parallelFill = 1 << 18

    /// Allocates `count` floats without initialising them (for ops that overwrite every value).
    init(uninitializedCount count: Int) {
        self.count = count
        ptr = BigBuffers.take(count) ?? UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        if MemoryStats.enabled { MemoryStats.add(count * 4) }
    }


    /// A buffer of no floats, shared by gradient handles (`Tensor.gradientHandle`), never freed.
    nonisolated(unsafe) static let empty = Storage(uninitializedCount: 0)

    deinit {
        if MemoryStats.enabled { MemoryStats.add(-count * 4) }
        if !BigBuffers.give(ptr, count) { ptr.deallocate() }
    }
}

/// Freed buffers above 32 MB, kept for the next tensor of the same size. glibc serves those
/// from fresh mmaps whatever malloc_tuning.c asks (32 MB is its largest heap threshold), so each
/// one page-faulted on every step: a 38.5 MB GELU at 224 (ConvNeXt-T's MLP, batch 8) spent 80% of
/// its time in page faults. At most `limit` bytes are kept, and the cache never makes the big
/// buffers (live and kept together) exceed the most that were ever live at once: a new buffer
/// that finds no cached one of its size first frees cached buffers of other sizes, so cached
/// memory is never added on top of a new peak of live memory (docs/architecture.md, "Memory").
enum BigBuffers {
    /// Floats from which a buffer is cached (32 MB).
    static let minCount = 8 << 20
    /// Bytes kept at most (2 GB, or an eighth of physical memory if that is less).
    static let limit = Swift.min(2 << 30, Int(ProcessInfo.processInfo.physicalMemory / 8))

    nonisolated(unsafe) private static var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    nonisolated(unsafe) private static var held = 0
    /// Bytes of big buffers in use by live storages, and the most there ever were.
    nonisolated(unsafe) private static var live = 0
    nonisolated(unsafe) private static var liveHighWater = 0
    private static let lock = NSLock()

    /// A cached buffer of exactly `count` floats, or nil: then the caller allocates a new one,
    /// and cached buffers of other sizes are freed first as far as the new buffer would raise
    /// live + kept bytes above the most ever live.
    static func take(_ count: Int) -> UnsafeMutablePointer<Float>? {
        guard count >= minCount else { return nil }
        lock.lock()
        defer { lock.unlock() }
        let bytes = count * 4
        live += bytes
        liveHighWater = Swift.max(liveHighWater, live)
        if var list = free[count], let p = list.popLast() {
            free[count] = list.isEmpty ? nil : list
            held -= bytes
            return p
        }
        evict(above: liveHighWater)
        return nil
    }

    /// Frees cached buffers until live + kept bytes are at most `bound` (or nothing is cached):
    /// each time the smallest one that is enough alone, else the largest. Called with the lock held.
    private static func evict(above bound: Int) {
        while live + held > bound, !free.isEmpty {
            let need = (live + held - bound + 3) / 4
            let sizes = free.keys
            guard let size = sizes.filter({ $0 >= need }).min() ?? sizes.max(), var list = free[size],
                  let p = list.popLast() else { return }
            free[size] = list.isEmpty ? nil : list
            held -= size * 4
            p.deallocate()
        }
    }

    /// Keeps `p` (of `count` floats) for reuse; false when it is too small or the cache is full
    /// (then the caller frees it).
    static func give(_ p: UnsafeMutablePointer<Float>, _ count: Int) -> Bool {
        guard count >= minCount else { return false }
        lock.lock()
        defer { lock.unlock() }
        live -= count * 4
        guard held + count * 4 <= limit else { return false }
        free[count, default: []].append(p)
        held += count * 4
        return true
    }

    /// Frees every cached buffer and starts the high-water mark from the live bytes (tests; or
    /// to give memory back).
    static func drain() {
        lock.lock()
        defer { lock.unlock() }
        for (_, list) in free { for p in list { p.deallocate() } }
        free = [:]
        held = 0
        liveHighWater = live
    }

    /// Bytes currently kept, read without the lock (MemoryStats).
    static var heldBytesUnlocked: Int { held }

    /// Bytes currently kept.
    static var heldBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return held
    }
}
