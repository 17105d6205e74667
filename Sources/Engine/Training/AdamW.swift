// AdamW with PyTorch semantics (torch.optim.AdamW, single-tensor path):
//   p <- p * (1 - lr*wd)                      (decoupled weight decay)
//   m <- m + (1-b1)(g - m);  v <- b2 v + (1-b2) g^2
//   p <- p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
import CKernels
import Foundation
import Tensor

/// AdamW (Loshchilov & Hutter) exactly as PyTorch computes it, in float32.
public final class AdamW: Optimizer {
    public let name = "adamw"
    public private(set) var groups: [ParameterGroup]
    public var stepCount = 0
    public let beta1: Double, beta2: Double, eps: Double
    /// First and second moments by parameter name (created on a parameter's first step).
    var expAvg: [String: Tensor] = [:]
    var expAvgSq: [String: Tensor] = [:]
    /// Steps taken by each parameter (PyTorch keeps one count per parameter).
    var steps: [String: Int] = [:]

    /// - Parameters:
    ///   - groups: parameter groups (see `ParameterGroup.split`).
    ///   - betas: moment decay rates, (0.9, 0.999) by default.
    ///   - eps: added to the denominator, 1e-8 by default.
    public init(groups: [ParameterGroup], betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8) throws {
        guard (0..<1).contains(betas.0), (0..<1).contains(betas.1) else {
            throw EngineError.invalidArgument("adamw: betas must be in [0, 1), got \(betas)")
        }
        guard eps >= 0 else { throw EngineError.invalidArgument("adamw: eps must be >= 0, got \(eps)") }
        try checkUniqueNames(groups)
        self.groups = groups
        beta1 = betas.0; beta2 = betas.1; self.eps = eps
    }

    public func step(lr: Double) throws {
        stepCount += 1
        // One update per parameter, all run as a single parallel loop over the concatenated
        // elements (most tensors are too small for a thread of their own; elementwise, so the
        // split does not change any value).
        var jobs: [AdamWJob] = []
        for g in groups {
            let glr = lr * g.lrScale
            for p in g.parameters {
                guard let grad = p.tensor.grad else { continue }
                guard grad.count == p.tensor.count else {
                    throw EngineError.shape("adamw: gradient of '\(p.name)' has shape \(grad.shape), parameter \(p.tensor.shape)")
                }
                let m = expAvg[p.name] ?? Tensor(zeros: p.tensor.shape)
                let v = expAvgSq[p.name] ?? Tensor(zeros: p.tensor.shape)
                expAvg[p.name] = m; expAvgSq[p.name] = v
                let t = (steps[p.name] ?? 0) + 1
                steps[p.name] = t
                let bc1 = 1 - pow(beta1, Double(t))
                let bc2 = 1 - pow(beta2, Double(t))
                jobs.append(AdamWJob(p: p.tensor.ptr, g: grad.ptr, m: m.ptr, v: v.ptr, n: p.tensor.count,
                                     decay: Float(1 - glr * g.weightDecay), applyDecay: g.weightDecay != 0 ? 1 : 0,
                                     stepSize: Float(glr / bc1), bc2Sqrt: Float(bc2.squareRoot()),
                                     keep: [p.tensor, grad, m, v]))
            }
        }
        var starts: [Int] = []
        var total = 0
        for j in jobs { starts.append(total); total += j.n }
        let w1 = Float(1 - beta1), b2 = Float(beta2), w2 = Float(1 - beta2), e = Float(eps)
        jobs.withUnsafeBufferPointer { jb in
            starts.withUnsafeBufferPointer { sb in
                guard let js = jb.baseAddress, let ss = sb.baseAddress else { return }
                let count = jb.count
                Parallel.forEach(total, minChunk: 1 << 15) { r in
                    // The first job overlapping r, then every job until r ends.
                    var lo = 0, hi = count
                    while hi - lo > 1 {
                        let mid = (lo + hi) / 2
                        if ss[mid] <= r.lowerBound { lo = mid } else { hi = mid }
                    }
                    var k = lo
                    while k < count && ss[k] < r.upperBound {
                        let j = js[k]
                        let a = Swift.max(r.lowerBound, ss[k]) - ss[k], b = Swift.min(r.upperBound, ss[k] + j.n) - ss[k]
                        if b > a {
                            // CKernels/optim.c: the same operations in the same order, vectorised.
                            adv_adamw(j.p + a, j.g + a, j.m + a, j.v + a, b - a, j.decay, j.applyDecay, w1, b2, w2, j.bc2Sqrt, e, j.stepSize)
                        }
                        k += 1
                    }
                }
            }
        }
    }

    public func stateTensors() -> [NamedTensor] {
        var out: [NamedTensor] = []
        for p in allParameters {
            guard let m = expAvg[p.name], let v = expAvgSq[p.name] else { continue }
            out.append(NamedTensor("exp_avg.\(p.name)", m))
            out.append(NamedTensor("exp_avg_sq.\(p.name)", v))
            out.append(NamedTensor("step.\(p.name)", Tensor(scalar: Float(steps[p.name] ?? 0))))
        }
        return out
    }

    public func loadState(_ tensors: [String: Tensor]) throws {
        expAvg = [:]; expAvgSq = [:]; steps = [:]
        for p in allParameters {
            let m = try restoreSlot(tensors, "exp_avg.\(p.name)", like: p.tensor)
            let v = try restoreSlot(tensors, "exp_avg_sq.\(p.name)", like: p.tensor)
            switch (m, v, tensors["step.\(p.name)"]) {
            case (nil, nil, nil): continue
            case let (m?, v?, s?):
                expAvg[p.name] = m; expAvgSq[p.name] = v; steps[p.name] = Int(s.item)
            default:
                throw EngineError.io("adamw state of '\(p.name)' is incomplete (needs exp_avg, exp_avg_sq and step)")
            }
        }
    }
}

/// Throws when two parameters share a name (state is keyed by name).
func checkUniqueNames(_ groups: [ParameterGroup]) throws {
    var seen = Set<String>()
    for g in groups {
        for p in g.parameters where !seen.insert(p.name).inserted {
            throw EngineError.invalidArgument("optimizer: parameter name '\(p.name)' appears twice")
        }
    }
}

/// One parameter's AdamW update: its buffers and the step's per-parameter constants.
private struct AdamWJob {
    let p: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>
    let m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>
    let n: Int
    let decay: Float, applyDecay: Int32
    let stepSize: Float, bc2Sqrt: Float
    /// Keeps the tensors (and so the buffers above) alive until the update has run.
    let keep: [Tensor]
}
