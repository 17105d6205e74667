// The collective operations data-parallel `fit` needs (docs/distributed.md): element-wise sums
// over every process (blocking, or started and completed later so that they overlap the
// backward pass) and a broadcast from rank 0. Engine declares them and the runtime implements
// them on MPI (Runtime/Distributed), so the engine does not link MPI; one process passes none.
import Tensor

/// Collective operations over the processes of a data-parallel run. Every process calls each
/// operation in the same order with the same counts.
public protocol Collective: AnyObject {
    /// This process's rank, 0 ..< size.
    var rank: Int { get }
    /// Number of processes.
    var size: Int { get }
    /// Replaces the `count` floats at `data` by their element-wise sum over all processes.
    func sum(_ data: UnsafeMutablePointer<Float>, count: Int) throws
    /// Replaces the `count` doubles at `data` by their element-wise sum over all processes.
    func sum(_ data: UnsafeMutablePointer<Double>, count: Int) throws
    /// Starts replacing the `count` floats at `data` by their sum over all processes; `data`
    /// must stay valid and untouched until the request completes.
    func startSum(_ data: UnsafeMutablePointer<Float>, count: Int) throws -> CollectiveRequest
    /// Overwrites the `count` floats at `data` with rank 0's.
    func broadcast(_ data: UnsafeMutablePointer<Float>, count: Int) throws
}

/// A collective operation in flight (`Collective.startSum`).
public protocol CollectiveRequest: AnyObject {
    /// Lets the operation progress without waiting; true once it has completed.
    func test() throws -> Bool
    /// Waits until it completes (with the collective's deadline and lost-process checks).
    func wait() throws
}

extension Collective {
    /// The element-wise sum of `values` over all processes.
    public func sum(_ values: [Double]) throws -> [Double] {
        var v = values
        try v.withUnsafeMutableBufferPointer { b in
            guard let p = b.baseAddress else { return }
            try sum(p, count: b.count)
        }
        return v
    }

    /// Copies rank 0's values of every tensor to this process (weights at the start of a run).
    public func broadcast(_ tensors: [Tensor]) throws {
        for t in tensors where t.count > 0 { try broadcast(t.ptr, count: t.count) }
    }
}
