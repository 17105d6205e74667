// Tensor: a contiguous, row-major float32 array with a shape, plus the autograd hooks.
//
// Storage lives in a final class holding one raw allocation, so hot loops take
// `t.ptr` once and run without ARC, bounds or exclusivity traffic per element.

import Foundation

#if os(Linux)
@_silgen_name("mallopt")
private func glibcMallopt(_ param: Int32, _ value: Int32) -> Int32
#endif

/// The raw float32 buffer behind a tensor. Owned by exactly one allocation; freed on deinit.
public final class Storage {
    public let ptr: UnsafeMutablePointer<Float>
    public let count: Int

    /// Allocates `count` floats, zero-filled.
    public init(count: Int) {
        _ = Storage.mallocTuned
        self.count = count
        ptr = BigBuffers.take(count) ?? UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
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
        _ = Storage.mallocTuned
        self.count = count
        ptr = BigBuffers.take(count) ?? UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
    }

    /// Keeps freed tensor memory in the heap (blocks up to 32 MB, glibc's largest non-mmap size)
    /// and never trims the heap top, so training steps and attacks that allocate the same sizes
    /// again do not page-fault on every step (with a 256 MB trim threshold, PGD on DeiT at batch
    /// 128 spent ~9% of its time in page faults). Like PyTorch's caching allocator, the process
    /// keeps its peak heap.
    static let mallocTuned: Void = {
        #if os(Linux)
        // glibc <malloc.h>: M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3 (not in the Glibc module).
        _ = glibcMallopt(-3, 32 << 20)
        _ = glibcMallopt(-1, Int32.max)
        #endif
    }()

    deinit {
        if !BigBuffers.give(ptr, count) { ptr.deallocate() }
    }
}

/// Freed buffers above 32 MB, kept for the next tensor of the same size. glibc serves those
/// from fresh mmaps whatever `mallocTuned` asks (32 MB is its largest heap threshold), so each
/// one page-faulted on every step: a 38.5 MB GELU at 224 (ConvNeXt-T's MLP, batch 8) spent 80% of
/// its time in page faults. At most `limit` bytes are kept; the rest is freed as before.
enum BigBuffers {
    /// Floats from which a buffer is cached (32 MB).
    static let minCount = 8 << 20
    /// Bytes kept at most (2 GB, or an eighth of physical memory if that is less).
    static let limit = Swift.min(2 << 30, Int(ProcessInfo.processInfo.physicalMemory / 8))

    nonisolated(unsafe) private static var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    nonisolated(unsafe) private static var held = 0
    private static let lock = NSLock()

    /// A cached buffer of exactly `count` floats, or nil (allocate a new one).
    static func take(_ count: Int) -> UnsafeMutablePointer<Float>? {
        guard count >= minCount else { return nil }
        lock.lock()
        defer { lock.unlock() }
        guard var list = free[count], let p = list.popLast() else { return nil }
        free[count] = list.isEmpty ? nil : list
        held -= count * 4
        return p
    }

    /// Keeps `p` (of `count` floats) for reuse; false when it is too small or the cache is full
    /// (then the caller frees it).
    static func give(_ p: UnsafeMutablePointer<Float>, _ count: Int) -> Bool {
        guard count >= minCount else { return false }
        lock.lock()
        defer { lock.unlock() }
        guard held + count * 4 <= limit else { return false }
        free[count, default: []].append(p)
        held += count * 4
        return true
    }

    /// Frees every cached buffer (tests; or to give memory back).
    static func drain() {
        lock.lock()
        defer { lock.unlock() }
        for (_, list) in free { for p in list { p.deallocate() } }
        free = [:]
        held = 0
    }

    /// Bytes currently kept.
    static var heldBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return held
    }
}

/// A dense float32 tensor (row-major, contiguous). Image tensors are N x C x H x W.
public final class Tensor {
    /// The extent of each dimension; `[]` is a scalar.
    public let shape: [Int]
    /// The data, `count` floats in row-major order.
    public let storage: Storage
    /// When true, operations on this tensor are recorded and `backward()` fills `grad`.
    public var requiresGrad: Bool = false
    /// The accumulated gradient of the last `backward()` calls (nil until one reaches this tensor).
    public var grad: Tensor?
    /// How this tensor was computed, while the graph is alive (nil for leaves and after backward).
    var node: Node?

    /// Number of elements.
    @inlinable public var count: Int { storage.count }
    /// Number of dimensions.
    @inlinable public var rank: Int { shape.count }
    /// Pointer to the first element. Take it once outside a loop.
    @inlinable public var ptr: UnsafeMutablePointer<Float> { storage.ptr }

    /// A tensor over existing storage (no copy). `storage.count` must equal the shape's product.
    public init(shape: [Int], storage: Storage) {
        self.shape = shape
        self.storage = storage
    }

    /// A tensor whose values are not initialised (internal: the caller overwrites all of them).
    convenience init(uninitialized shape: [Int]) {
        self.init(shape: shape, storage: Storage(uninitializedCount: shape.reduce(1, *)))
    }

    /// A zero-filled tensor.
    public convenience init(zeros shape: [Int]) {
        self.init(shape: shape, storage: Storage(count: shape.reduce(1, *)))
    }

    /// A tensor filled with `value`.
    public convenience init(shape: [Int], repeating value: Float) {
        self.init(zeros: shape)
        ptr.update(repeating: value, count: count)
    }

    /// A tensor copied from `data`; throws when `data.count` does not match the shape.
    public convenience init(shape: [Int], data: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw EngineError.shape("negative dimension in shape \(shape)")
        }
        guard let n = Tensor.elementCount(shape) else {
            throw EngineError.shape("shape \(shape) has too many elements")
        }
        guard n == data.count else {
            throw EngineError.shape("shape \(shape) needs \(n) values, got \(data.count)")
        }
        self.init(zeros: shape)
        data.withUnsafeBufferPointer { b in
            if let base = b.baseAddress { ptr.update(from: base, count: n) }
        }
    }

    /// A scalar (shape `[]`).
    public convenience init(scalar: Float) {
        self.init(zeros: [])
        ptr[0] = scalar
    }

    /// The largest tensor a script may ask for directly (2^28 floats, 1 GiB): shapes from user
    /// input are checked against it so a typo like `zeros(1e8, 1e8)` is an error, not a crash.
    public static let maxElements = 1 << 28

    /// The number of elements of `shape`, or nil when a dimension is negative or the product
    /// overflows `Int` (shapes from user input must be checked with this before allocating).
    public static func elementCount(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = p
        }
        return n
    }

    /// Throws when `shape` (derived from user input) is negative, overflows or exceeds `maxElements`.
    public static func checkSize(_ shape: [Int], _ what: String) throws {
        guard let n = elementCount(shape), n <= maxElements else {
            throw EngineError.invalidArgument("\(what): shape \(shape) has too many elements (a tensor holds at most \(maxElements))")
        }
    }

    /// The values as a Swift array (a copy).
    public func toArray() -> [Float] {
        Array(UnsafeBufferPointer(start: ptr, count: count))
    }

    /// The single value of a one-element tensor.
    public var item: Float { ptr[0] }

    /// A deep copy of the data, detached from the graph.
    public func copy() -> Tensor {
        let t = Tensor(uninitialized: shape)  // every element is written by the copy
        let src = ptr, dst = t.ptr
        if count >= Storage.parallelFill {
            Parallel.forEach(count, minChunk: Storage.parallelFill / 2) { r in (dst + r.lowerBound).update(from: src + r.lowerBound, count: r.count) }
        } else {
            dst.update(from: src, count: count)
        }
        return t
    }

    /// The same data, cut off from the graph (shares storage; does not require grad).
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }
}

/// Errors the engine reports. Each carries a message that says what and why;
/// the runtime adds the source location.
public enum EngineError: Error, CustomStringConvertible, Equatable {
    /// Shapes that do not fit together (the message names both).
    case shape(String)
    /// An argument outside its domain (the message names the argument).
    case invalidArgument(String)
    /// A file that is missing, truncated, corrupt or malicious (the message names the file).
    case io(String)
    /// Numbers that went wrong (NaN/inf where they must not be).
    case numeric(String)
    /// The user interrupted a long computation (Ctrl-C).
    case interrupted

    public var description: String {
        switch self {
        case .shape(let m), .invalidArgument(let m), .io(let m), .numeric(let m): return m
        case .interrupted: return "interrupted"
        }
    }
}
