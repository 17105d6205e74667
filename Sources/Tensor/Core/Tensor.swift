// Tensor: a contiguous, row-major float32 array with a shape, plus the autograd hooks.
//
// The data lives in a `Storage` (Storage.swift) holding one raw allocation, so hot loops take
// `t.ptr` once and run without ARC, bounds or exclusivity traffic per element.

import Foundation

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
    var node: Node? {
        get { if let n = graphNode, !n.isReleased { return n } else { return nil } }
        set { graphNode = newValue }
    }
    /// The node as recorded; it may have been released by a backward that reached it through
    /// another tensor sharing it (a `gradientHandle`, Autograd.swift).
    var graphNode: Node?
    /// For a gradient handle (`Tensor.gradientHandle`): the tensor it stands for, while alive.
    weak var handleOf: Tensor?
    /// True for a gradient handle (its storage is empty; never read its values).
    var isGradientHandle = false

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
