// The script-side wrapper of an engine Tensor. Other domains return tensors as
// `.object(TensorObject(t))` and read them with `args.object(name, as: TensorObject.self, expected: "a tensor")`.
import Engine

public final class TensorObject: HostObject {
    public let tensor: Tensor
    public init(_ tensor: Tensor) { self.tensor = tensor }
    public var typeName: String { "Tensor" }
    public func describe(depth: Int) -> String { "Tensor(\(tensor.shape), float32)" }
    public func member(_ name: String) throws -> Value? { nil }
}
