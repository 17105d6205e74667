// The script-side wrapper of an engine Model (owned by the models code; others read `.model`).
//
// `m(x)` gives logits; members: name, classes, params, image, channels, training, precision,
// train(), eval(), precision("bf16"), summary(image: 224), flops().
import Engine
import Tensor

public final class ModelObject: HostObject {
    public let model: Model
    public init(_ model: Model) { self.model = model }
    public var typeName: String { "Model" }

    /// The compact tree with parameters per stage (one line for models not built here).
    public func describe(depth: Int) -> String {
        if depth > 0 { return "Model(\(model.name), \(Network.formatCount(model.parameterCount)) params)" }
        if let n = model as? Network { return n.treeDescription }
        return "Model(\(model.name), \(model.parameterCount) params)"
    }

    public var memberNames: [String] {
        ["name", "classes", "params", "image", "channels", "training", "config",
         "train", "eval", "precision", "summary", "flops"]
    }

    /// Runs `body`, turning engine errors into runtime errors.
    static func engine<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as EngineError { throw RuntimeError.engine(e) }
    }

    public func member(_ name: String) throws -> Value? {
        let m = model
        func method(_ sig: String, _ doc: String, _ fn: @escaping (Arguments, CallContext) throws -> Value) -> Value {
            .builtin(Builtin("Model.\(name)", sig, doc: doc) { args, ctx in
                var a = args
                a.callee = "Model.\(name)"
                return try fn(a, ctx)
            })
        }
        switch name {
        case "name": return .string(m.name)
        case "classes": return .number(Double(m.classes))
        case "params": return .number(Double(m.parameterCount))
        case "image": return .number(Double(m.inputShape.height))
        case "channels": return .number(Double(m.inputShape.channels))
        case "training": return .bool(m.isTraining)
        case "config":
            guard let n = m as? Network else { return .nil_ }
            return .string(n.config.json)
        case "train":
            return method("m.train()", "Switches the model to training mode (BatchNorm batch statistics, drop path on) and returns it.") { a, _ in
                try a.check(allowed: [], maxPositional: 0)
                m.isTraining = true
                return .object(self)
            }
        case "eval":
            return method("m.eval()", "Switches the model to evaluation mode (BatchNorm running statistics, no drop path) and returns it.") { a, _ in
                try a.check(allowed: [], maxPositional: 0)
                m.isTraining = false
                return .object(self)
            }
        case "precision":
            return method("m.precision(p)", "Sets the input precision of the model's matrix products and convolutions: \"fp32\", \"bf16\" or \"fp16\" (inputs rounded to nearest even, accumulation stays fp32). On a CPU with AVX512-BF16, bf16 products run on its bf16 instructions (up to twice the fp32 rate; bf16 denormals count as zero there); elsewhere, and for fp16, the rounded values go through fp32 products. Without an argument returns the current one.") { a, _ in
                try a.check(allowed: ["p"], maxPositional: 1)
                guard a.has("p", at: 0) else { return .string(m.precision.rawValue) }
                let p = try a.choice("p", at: 0, Precision.allCases.map(\.rawValue), default: "fp32")
                m.precision = Precision(rawValue: p) ?? .fp32
                return .object(self)
            }
        case "summary":
            return method("m.summary(image: built size)", "Prints one row per layer (block) as in timm's module tree: its output shape for one image of side `image`, its parameter count and its multiply-adds (convolutions, linear layers and attention products, counted on a forward pass at that side, as flops(m) counts them); then the totals.") { a, ctx in
                try a.check(allowed: ["image"], maxPositional: 1)
                guard let n = m as? Network else { throw RuntimeError.type("summary: only for models built by model()") }
                let side = try a.int("image", at: 0, default: n.config.image)
                let rows = try ModelObject.engine { try n.summaryRows(image: side) }
                ctx.write(ModelObject.formatSummary(n, rows, side: side) + "\n")
                return .nil_
            }
        case "flops":
            return method("m.flops()", "Multiply-adds of one forward pass for one image (same as flops(m)).") { a, _ in
                try a.check(allowed: [], maxPositional: 0)
                guard let n = m as? Network else { throw RuntimeError.type("flops: only for models built by model()") }
                return .number(Double(try ModelObject.engine { try n.macs() }))
            }
        default: return nil
        }
    }

    /// `m(x)`: logits (N, classes) for images x (N, C, H, W) in [0, 1].
    public func call(_ args: Arguments, _ ctx: CallContext) throws -> Value {
        var a = args
        a.callee = model.name
        try a.check(allowed: ["x"], maxPositional: 1)
        guard let v = a.value("x", at: 0) else { throw RuntimeError.arguments("\(model.name)(x): missing the images x") }
        var x = try TensorObject.from(v, what: "\(model.name)(x)")
        if x.rank == 3 { x = try ModelObject.engine { try x.reshape([1] + x.shape) } }  // one image
        let input = x
        let m = model
        return .object(TensorObject(try ModelObject.engine { try m.forward(input) }))
    }

    /// The summary table: one row per traced unit (name, output shape, parameters, multiply-adds), then the totals.
    static func formatSummary(_ n: Network, _ rows: [SummaryRow], side: Int) -> String {
        let c = n.config
        var lines = ["\(c.name): input [1, \(c.channels), \(side), \(side)]"]
        let w = max(12, rows.map { $0.name.count }.max() ?? 0) + 2
        let pw = max(8, rows.map { "\($0.params)".count }.max() ?? 0) + 2
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
        lines.append(pad("layer", w) + pad("output", 22) + pad("params", pw) + "MACs")
        for r in rows {
            lines.append(pad(r.name, w) + pad("\(r.shape)", 22) + pad("\(r.params)", pw) + "\(r.macs)")
        }
        let macs = rows.reduce(0) { $0 + $1.macs }
        lines.append("total: \(n.store.paramCount) params (\(Network.formatCount(n.store.paramCount))), "
                     + "\(macs) multiply-adds (\(formatMACs(macs))) for one \(side)x\(side) image")
        return lines.joined(separator: "\n")
    }

    /// A multiply-add count with a unit: 4.49G, 12.30M, 45.10K.
    static func formatMACs(_ n: Int) -> String {
        if n >= 1_000_000_000 { return String(format: "%.2fG", Double(n) / 1e9) }
        return Network.formatCount(n)
    }
}
