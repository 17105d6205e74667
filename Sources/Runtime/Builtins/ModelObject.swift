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

    public var memberNames: [String] { ModelObject.members.names }
    public func member(_ name: String) throws -> Value? { try ModelObject.members.value(name, of: self) }
    public func call(_ args: Arguments, _ ctx: CallContext) throws -> Value {
        var a = args
        a.callee = model.name
        return try ModelObject.members.call(self, a, ctx)
    }

    /// Fields, methods and `m(x)`, declared once (Members.swift).
    static let members: Members<ModelObject> = {
        var t = Members<ModelObject>("Model")
        t.field("name") { .string($0.model.name) }
        t.field("classes") { .number(Double($0.model.classes)) }
        t.field("params") { .number(Double($0.model.parameterCount)) }
        t.field("image") { .number(Double($0.model.inputShape.height)) }
        t.field("channels") { .number(Double($0.model.inputShape.channels)) }
        t.field("training") { .bool($0.model.isTraining) }
        t.field("config") { o in (o.model as? Network).map { .string($0.config.json) } ?? .nil_ }
        t.add("train", "m.train()", doc: """
            Switches the model to training mode (BatchNorm batch statistics, drop path on) and returns it.
            """) { o, _, _ in
            o.model.isTraining = true
            return .object(o)
        }
        t.add("eval", "m.eval()", doc: """
            Switches the model to evaluation mode (BatchNorm running statistics, no drop path) and returns
            it.
            """) { o, _, _ in
            o.model.isTraining = false
            return .object(o)
        }
        t.add("precision", "m.precision(p = nil)", doc: """
            Sets the input precision of the model's matrix products and convolutions.

            "fp32", "bf16" or "fp16" (inputs rounded to nearest even, accumulation stays fp32). On a CPU
            with AVX512-BF16, bf16 products run on its bf16 instructions (up to twice the fp32 rate; bf16
            denormals count as zero there); elsewhere, and for fp16, the rounded values go through fp32
            products. Without an argument returns the current one.
            """) { o, a, _ in
            let m = o.model
            guard a.has("p", at: 0) else { return .string(m.precision.rawValue) }
            let p = try a.choice("p", at: 0, Precision.allCases.map(\.rawValue), default: "fp32")
            m.precision = Precision(rawValue: p) ?? .fp32
            return .object(o)
        }
        t.add("summary", "m.summary(image = built size)", doc: """
            Prints one row per layer (block) as in timm's module tree.

            Its output shape for one image of side `image`, its parameter count and its multiply-adds
            (convolutions, linear layers and attention products, counted on a forward pass at that side, as
            flops(m) counts them); then the totals.
            """) { o, a, ctx in
            guard let n = o.model as? Network else { throw RuntimeError.type("summary: only for models built by model()") }
            let side = try a.int("image", at: 0, default: n.config.image)
            let rows = try engine { try n.summaryRows(image: side) }
            ctx.write(ModelObject.formatSummary(n, rows, side: side) + "\n")
            return .nil_
        }
        t.add("flops", "m.flops()", doc: """
            Multiply-adds of one forward pass for one image (same as flops(m)).
            """) { o, _, _ in
            guard let n = o.model as? Network else { throw RuntimeError.type("flops: only for models built by model()") }
            return .number(Double(try engine { try n.macs() }))
        }
        t.call("m(x)", doc: """
            Logits (N, classes) for images x (N, C, H, W) in [0, 1]; one image (C, H, W) counts as N = 1.
            """) { o, a, _ in
            var x = try TensorObject.tensor(a, "x", at: 0)
            if x.rank == 3 { x = try engine { try x.reshape([1] + x.shape) } }  // one image
            let input = x
            let m = o.model
            return .object(TensorObject(try engine { try m.forward(input) }))
        }
        return t
    }()

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
