// The script-side wrapper of a data set split (owned by the data code; others read `.dataset`).
import Engine

public final class DatasetObject: HostObject {
    public let dataset: Dataset
    public init(_ dataset: Dataset) { self.dataset = dataset }
    public var typeName: String { "Dataset" }
    public func describe(depth: Int) -> String { "Dataset(\(dataset.count) images)" }
    public func member(_ name: String) throws -> Value? { nil }
}
