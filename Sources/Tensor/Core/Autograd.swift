// Reverse-mode autograd. Every differentiable op calls `Tensor.record` with its inputs and a
// backward closure that reads the output's gradient and *accumulates* (+=) into its inputs'
// gradients with `Tensor.accumulate(into:)`. `backward()` runs the closures in reverse
// topological order and then frees the graph, so memory does not grow from step to step.
// `backward(seed:gradientReady:)` can notify the caller as each leaf's gradient becomes final
// (data-parallel training starts its gradient allreduce from it, docs/distributed.md). An op
// whose backward never reads an input records a `gradientHandle` of it instead, so the graph does
// not keep that input's data alive (docs/architecture.md, "Memory").

/// A recorded operation: the tensors it read and how to push a gradient back to them.
/// `release()` drops both once the backward has run it (or the graph is freed), so a tensor that
/// outlives the graph holds an empty node, which reads as no node (`Tensor.node`).
final class Node {
    private(set) var inputs: [Tensor]
    private(set) var backward: ((_ gradOutput: Tensor) -> Void)?
    /// The function that recorded it (`#function` of `record`'s caller), for `Autograd.census`.
    let op: StaticString
    init(inputs: [Tensor], op: StaticString, backward: @escaping (Tensor) -> Void) {
        self.inputs = inputs
        self.op = op
        self.backward = backward
    }
    /// Frees the inputs and what the closure captured; the node then reads as absent.
    func release() {
        inputs = []
        backward = nil
    }
    var isReleased: Bool { backward == nil }
}

/// Global switches of the autograd machinery.
public enum Autograd {
    /// False inside `noGrad`; then nothing is recorded.
    public nonisolated(unsafe) static var isEnabled = true

    /// d(y)/d(x) for each x in `wrt`, without touching any tensor's `.grad` (parameters that
    /// require grad keep theirs). Frees y's graph. Inputs y does not depend on get zeros.
    /// - Parameters:
    ///   - y: a one-element tensor (or any shape with `seed`).
    ///   - wrt: leaf tensors (requiresGrad true, not computed by a recorded op).
    ///   - seed: d(loss)/d(y); default 1.
    public static func gradients(of y: Tensor, wrt xs: [Tensor], seed: Tensor? = nil) throws -> [Tensor] {
        let saved = Tensor.captureTargets
        Tensor.captureTargets = Set(xs.map { ObjectIdentifier($0) })
        defer { Tensor.captureTargets = saved; Tensor.captured = [:] }
        if y.node == nil {
            // y is a leaf itself (or constant): d y / d y = seed for y, zeros elsewhere.
            return xs.map { x in x === y ? (seed?.copy() ?? Tensor(shape: x.shape, repeating: 1)) : Tensor(zeros: x.shape) }
        }
        try y.backward(seed: seed)
        return xs.map { Tensor.captured[ObjectIdentifier($0)] ?? Tensor(zeros: $0.shape) }
    }

    /// The tensors the graph of `y` holds through its nodes' inputs (not what backward closures
    /// capture besides), as distinct buffers grouped by the op that computed them ("leaf" for
    /// tensors no recorded op computed: parameters, images, constants), largest first. A
    /// diagnostic for memory (AdvBench step224 with ADV_MEM_STATS=1).
    public static func census(of y: Tensor) -> [(op: String, bytes: Int, tensors: Int)] {
        var seen = Set<ObjectIdentifier>(), buffers = Set<ObjectIdentifier>()
        var byOp: [String: (bytes: Int, tensors: Int)] = [:]
        var stack = [y]
        while let t = stack.popLast() {
            guard seen.insert(ObjectIdentifier(t)).inserted else { continue }
            if buffers.insert(ObjectIdentifier(t.storage)).inserted {
                let op = t.node.map { "\($0.op)" } ?? "leaf"
                byOp[op, default: (0, 0)].bytes += t.count * 4
                byOp[op, default: (0, 0)].tensors += 1
            }
            stack.append(contentsOf: t.node?.inputs ?? [])
        }
        return byOp.map { ($0.key, $0.value.bytes, $0.value.tensors) }.sorted { $0.bytes > $1.bytes }
    }

    /// Runs `body` without recording a graph (evaluation, weight updates).
    public static func noGrad<T>(_ body: () throws -> T) rethrows -> T {
        let saved = isEnabled
        isEnabled = false
        defer { isEnabled = saved }
        return try body()
    }
}

extension Tensor {
    /// True when an op reading `inputs` must be recorded.
    @inlinable public static func needsGrad(_ inputs: [Tensor]) -> Bool {
        Autograd.isEnabled && inputs.contains { $0.requiresGrad }
    }

    /// Records that `self` was computed from `inputs`; `backward` receives d(loss)/d(self).
    /// Does nothing when grad is off or no input requires grad.
    public func record(_ inputs: [Tensor], op: StaticString = #function, backward: @escaping (Tensor) -> Void) {
        guard Tensor.needsGrad(inputs) else { return }
        requiresGrad = true
        node = Node(inputs: inputs, op: op, backward: backward)
    }

    /// Adds `g` (same shape as self) into `self.grad`, allocating it on first use (a copy of g).
    public func accumulateGrad(_ g: Tensor) {
        accumulateGrad(g, owned: false)
    }

    /// As `accumulateGrad(_:)`; when `owned`, g is adopted as the gradient without a copy.
    func accumulateGrad(_ g: Tensor, owned: Bool) {
        guard requiresGrad else { return }
        if let existing = grad {
            Tensor.addInPlace(existing, g)
        } else {
            grad = owned ? g : g.copy()
        }
    }

    /// dst += src (same count), vectorised and in parallel for large tensors.
    static func addInPlace(_ dst: Tensor, _ src: Tensor) {
        let n = Swift.min(dst.count, src.count), d = dst.ptr, s = src.ptr
        Parallel.forEach((n + 7) / 8, minChunk: 8192) { r in
            let lo = r.lowerBound * 8, hi = Swift.min(r.upperBound * 8, n)
            FastMath.zip(d + lo, s + lo, d + lo, hi - lo) { $0 + $1 }
        }
    }

    /// Computes gradients of this tensor (a scalar unless `seed` is given) with respect to every
    /// tensor in its graph that requires grad, accumulating into their `grad`. Frees the graph.
    /// A tensor used several times receives the sum of its gradients.
    /// - Parameter gradientReady: called once for each leaf of the graph that requires grad
    ///   (parameters, inputs), right after the backward closure of its last consumer has run:
    ///   from then on this backward adds nothing to the leaf's `grad` (which may be nil when no
    ///   consumer gave it one). The calls come in the same order on every run of the same graph.
    ///   Without it (nil) backward does no extra work. Not called under `Autograd.gradients`.
    public func backward(seed: Tensor? = nil, gradientReady: ((Tensor) -> Void)? = nil) throws {
        if let s = seed, s.shape != shape {
            throw EngineError.shape("backward seed shape \(s.shape) does not match \(shape)")
        }
        if seed == nil && count != 1 {
            throw EngineError.shape("backward() needs a scalar, got shape \(shape); pass a seed")
        }
        // Topological order by iterative DFS (deep graphs must not overflow the stack).
        var order: [Tensor] = []
        // Visited by `gradKey`: a tensor and its gradient handles share one node and run it once.
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            if visited.contains(t.gradKey) { continue }
            visited.insert(t.gradKey)
            stack.append((t, true))
            if let n = t.node {
                for input in n.inputs {
                    let i = input.resolved
                    if i.requiresGrad && !visited.contains(i.gradKey) { stack.append((i, false)) }
                }
            }
        }
        // Gradients of intermediate tensors live in a side table (`pending`), not in `.grad`,
        // so only leaves (parameters, inputs) end up holding gradients. Each entry is dropped
        // as soon as its tensor's closure has run.
        let savedPending = Tensor.pending, savedOut = Tensor.currentGradOut
        Tensor.pending = [gradKey: seed?.copy() ?? Tensor(shape: shape, repeating: 1)]
        Tensor.captured = [:]
        // Backward closures compute with ordinary ops; they must not record a new graph.
        let savedEnabled = Autograd.isEnabled
        Autograd.isEnabled = false
        let readyAfter = gradientReady == nil || Tensor.captureTargets != nil ? [:] : Tensor.leavesFinal(order)
        // Each tensor is released as soon as its closure has run (its consumers ran before it):
        // dropping its node frees what the closure saved, and dropping it from `todo` frees its
        // data unless something outside the graph holds it. So memory falls during the backward
        // from the forward's peak, as in PyTorch, instead of holding every activation to the end
        // (docs/architecture.md, "Memory").
        var todo: [Tensor?] = order.reversed()
        order = []
        defer {
            Autograd.isEnabled = savedEnabled
            Tensor.pending = savedPending
            Tensor.currentGradOut = savedOut
            for t in todo { t?.node?.release(); t?.node = nil }
        }
        for k in todo.indices {
            guard let t = todo[k] else { continue }
            todo[k] = nil
            if let g = Tensor.pending.removeValue(forKey: t.gradKey) {
                if let n = t.node, let run = n.backward {
                    Tensor.currentGradOut = g.storage
                    run(g)
                    Tensor.currentGradOut = nil
                } else if Tensor.captureTargets == nil {
                    t.accumulateGrad(g, owned: true)
                } else {
                    Tensor.captured[ObjectIdentifier(t)] = g
                }
            }
            t.node?.release()  // also for the tensor's gradient handles' references to it
            t.node = nil
            // Also after a closure that did not run (no gradient reached its tensor).
            if let leaves = readyAfter[k], let ready = gradientReady { leaves.forEach(ready) }
        }
    }

    /// For `backward(gradientReady:)`: the leaves whose gradient is final after the k-th closure
    /// of the backward (k counts `order` reversed), each at its last consumer, in the order the
    /// consumers list them (deterministic: no hashing order is involved).
    static func leavesFinal(_ order: [Tensor]) -> [Int: [Tensor]] {
        var last: [ObjectIdentifier: Int] = [:]
        for (k, t) in order.reversed().enumerated() {
            for i in (t.node?.inputs ?? []).map(\.resolved) where i.node == nil && i.requiresGrad { last[ObjectIdentifier(i)] = k }
        }
        var ready: [Int: [Tensor]] = [:]
        for (k, t) in order.reversed().enumerated() {
            for i in (t.node?.inputs ?? []).map(\.resolved) where i.node == nil && last[ObjectIdentifier(i)] == k {
                last[ObjectIdentifier(i)] = nil  // an op reading the same leaf twice lists it once
                ready[k, default: []].append(i)
            }
        }
        return ready
    }

    /// The key of this tensor's gradient in `pending` and in the backward's visited set: its node
    /// (shared with its gradient handles) or, for a leaf, the tensor itself.
    var gradKey: ObjectIdentifier { node.map { ObjectIdentifier($0) } ?? ObjectIdentifier(self) }

    /// What a backward closure that never reads this tensor's values should capture (and `record`
    /// list) instead of the tensor: for a tensor a recorded op computed, a handle with its shape,
    /// `requiresGrad` and node but no data (`count` 0, `ptr` not to be read), so the graph does
    /// not keep the values alive after the forward drops them, as PyTorch's saved variables
    /// (docs/architecture.md, "Memory"). `handle.addGrad(g)` reaches the same gradient as
    /// `addGrad` on the tensor. Leaves and constants are returned as they are.
    public var gradientHandle: Tensor {
        guard let n = node else { return self }
        let h = Tensor(shape: shape, storage: Storage.empty)
        h.requiresGrad = requiresGrad
        h.graphNode = n
        h.handleOf = self
        h.isGradientHandle = true
        return h
    }

    /// A node input as the backward walks it: a gradient handle whose node an earlier backward
    /// released stands for its tensor (a leaf now), as long as that tensor is alive.
    var resolved: Tensor { isGradientHandle && node == nil ? (handleOf ?? self) : self }

    /// What a backward closure that reads this op's own output should capture: the same storage
    /// under a tensor without a node. Capturing the output itself would be a cycle (its node holds
    /// the closure); its raw pointer or an unowned reference dangles once the forward drops the
    /// output and the graph reaches it only through gradient handles.
    var savedValues: Tensor { Tensor(shape: shape, storage: storage) }

    /// Gradients collected by the last `backward` under `Autograd.gradients`.
    nonisolated(unsafe) static var captured: [ObjectIdentifier: Tensor] = [:]
    /// Gradients flowing into intermediate tensors during `backward`.
    nonisolated(unsafe) static var pending: [ObjectIdentifier: Tensor] = [:]
    /// The storage of the gradient the running backward closure received (never adopted).
    nonisolated(unsafe) static var currentGradOut: Storage? = nil
    /// While `Autograd.gradients` runs: the leaves whose gradients are wanted (others untouched).
    nonisolated(unsafe) static var captureTargets: Set<ObjectIdentifier>? = nil

    /// Called from backward closures: adds `g` to the gradient flowing into `self`.
    /// For a leaf this lands in `self.grad`; for an intermediate it is summed for later.
    /// Ownership: g is adopted without a copy unless it shares storage with the gradient the
    /// closure received, so a closure must not modify or reuse g after passing it.
    public func addGrad(_ g: Tensor) {
        guard requiresGrad else { return }
        if isGradientHandle && node == nil {
            // An earlier backward released the node: the tensor this handle stands for is a leaf
            // now and receives the gradient, as it would had the graph held it (dropped if it is gone).
            handleOf?.addGrad(g)
            return
        }
        let owned = g.storage !== Tensor.currentGradOut
        if node == nil {
            if let targets = Tensor.captureTargets {
                // Leaves' gradients are collected in the side table, not in `.grad`.
                if !targets.contains(ObjectIdentifier(self)) { return }
            } else {
                accumulateGrad(g, owned: owned)
                return
            }
        }
        let key = gradKey
        if let existing = Tensor.pending[key] {
            Tensor.addInPlace(existing, g)
        } else {
            Tensor.pending[key] = owned ? g : g.copy()
        }
    }
}
