// The script-side wrapper of an engine Model (owned by the models code; others read `.model`).
import Engine

public final class ModelObject: HostObject {
    public let model: Model
    public init(_ model: Model) { self.model = model }
    public var typeName: String { "Model" }
    public func describe(depth: Int) -> String { "Model(\(model.name))" }
    public func member(_ name: String) throws -> Value? { nil }
}
