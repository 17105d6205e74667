// How the kernel shows a value: the MIME bundle of the notebook's display model
// (`Display.data(for:)`, Sources/Runtime/Notebook/DisplayData.swift): text/plain always,
// text/html for tables and records, image/svg+xml and image/png for figures and image grids.
// Every value the kernel shows goes through `KernelDisplay.bundle(for:)` (docs/notebooks.md).
import Foundation

enum KernelDisplay {
    /// The MIME bundle of `v`, as the `data` of an execute_result or display_data message.
    static func bundle(for v: Value) -> JSON {
        var b: JSON = [:]
        for (type, content) in Display.data(for: v).bundle { b[type] = content }
        return b
    }
}
