// The script-side wrapper of an engine Attack. Printing shows its parameters; calling it,
// `a(m, x, y)`, returns adversarial images; members: name, eps, step, steps. eps and step are
// the numbers the user wrote (Double); the engine computes with their Float values.
import Engine
import Tensor

public final class AttackObject: HostObject, AttackCarrier {
    public let attack: Attack
    /// The radius and step as the script wrote them (nil: read back from the engine's Float).
    let writtenEps: Double?, writtenStep: Double?
    public init(_ attack: Attack, eps: Double? = nil, step: Double? = nil) {
        self.attack = attack
        writtenEps = eps
        writtenStep = step
    }
    public var attackValue: Attack { attack }
    public var typeName: String { "Attack" }
    public func describe(depth: Int) -> String { attack.description }
    public var memberNames: [String] { AttackObject.members.names }
    public func member(_ name: String) throws -> Value? { try AttackObject.members.value(name, of: self) }
    public func call(_ args: Arguments, _ ctx: CallContext) throws -> Value {
        var a = args
        a.callee = attack.name
        return try AttackObject.members.call(self, a, ctx)
    }

    /// Fields and `a(m, x, y)`, declared once (Members.swift).
    static let members: Members<AttackObject> = {
        var t = Members<AttackObject>("Attack")
        t.field("name") { .string($0.attack.name) }
        t.field("eps") { .number($0.writtenEps ?? Double($0.attack.eps)) }
        t.field("step") { o in o.writtenStep.map { .number($0) } ?? (o.attack as? PGD).map { .number(Double($0.step)) } ?? .nil_ }
        t.field("steps") { o in o.attack.steps.map { .number(Double($0)) } ?? .nil_ }
        t.call("a(m, x, y, target: nil, targets: nil)", doc: """
            Adversarial images for images x (N, C, H, W) or one image (C, H, W) with labels y (a tensor, list
            or number); `target` makes it targeted (a class per image, or one class), `targets` gives soft
            targets (N, classes) for the loss.
            """) { o, a, _ in try o.perturb(a) }
        return t
    }()

    func perturb(_ a: Arguments) throws -> Value {
        let m = try a.object("m", at: 0, as: ModelObject.self, expected: "a model").model
        var x = try TensorObject.tensor(a, "x", at: 1)
        let single = x.rank == 3
        if single { x = try engine { try x.reshape([1] + x.shape) } }
        guard let yv = a.value("y", at: 2) else { throw RuntimeError.arguments("\(a.callee): missing argument 'y'") }
        let n = x.rank >= 1 ? x.shape[0] : 0
        let y = try AttackBuiltins.labels(yv, count: n, what: "\(a.callee): y")
        let target = try a.value("target").flatMap { v -> [Int]? in
            if case .nil_ = v { return nil }
            return try AttackBuiltins.labels(v, count: n, what: "\(a.callee): target", broadcast: true)
        }
        let soft = try a.value("targets").flatMap { v -> Tensor? in
            if case .nil_ = v { return nil }
            return try TensorObject.from(v, what: "\(a.callee): targets")
        }
        let atk = attack
        let input = x
        let adv = try engine {
            try atk.perturb(m, input, labels: y, targets: soft, target: target, rng: RNG.global)
        }
        if single { return .object(TensorObject(try engine { try adv.reshape(Array(adv.shape.dropFirst())) })) }
        return .object(TensorObject(adv))
    }
}
