// What a cell showed, as display data (docs/notebooks.md): MIME bundles in the shape Jupyter's
// display_data messages carry (text/plain always; text/html for tables and records;
// image/svg+xml and image/png, base64, for figures and image grids). The notebook report and the
// REPL's :report render these; a Jupyter kernel can send them as they are.
import Engine
import Foundation

/// One MIME bundle: MIME type -> content (image/png as base64 text).
public struct DisplayData {
    public var bundle: [String: String]
    public init(_ bundle: [String: String]) { self.bundle = bundle }
    public var plain: String { bundle["text/plain"] ?? "" }
}

/// One thing a cell showed, in order.
public enum CellOutput {
    /// Text the code printed (stdout).
    case stream(String)
    /// A value shown (last bare expression, `show(...)`).
    case display(DisplayData)
    /// Warnings and progress on stderr, progress lines collapsed to their last state.
    case log(String)
    /// The diagnostic of the error that stopped the cell.
    case error(String)
}

public enum Display {
    public static let allTypes: Set<String> = ["text/plain", "text/html", "image/svg+xml", "image/png"]

    /// The bundle of a value with the MIME types in `types` that apply to it.
    public static func data(for v: Value, types: Set<String> = allTypes) -> DisplayData {
        var b: [String: String] = [:]
        switch v {
        case .object(let o as FigureObject):
            b["text/plain"] = BrailleRenderer.render(o.figure, width: 80, height: 24, color: false)
            let scene = FigureLayout.scene(o.figure)
            if types.contains("image/svg+xml") { b["image/svg+xml"] = SVGRenderer.render(scene) }
            if types.contains("image/png"), let png = try? CairoRenderer.png(scene) { b["image/png"] = Data(png).base64EncodedString() }
        case .object(let o as GridObject):
            b["text/plain"] = o.describe(depth: 0)
            let scene = o.grid.scene()
            if types.contains("image/svg+xml") { b["image/svg+xml"] = SVGRenderer.render(scene) }
            if types.contains("image/png"), let png = try? CairoRenderer.png(scene, scale: 1) { b["image/png"] = Data(png).base64EncodedString() }
        case .string(let s):
            b["text/plain"] = s
            if types.contains("text/html"), let t = HTMLText.pipeTable(s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)) {
                b["text/html"] = t
            }
        default:
            b["text/plain"] = v.display()
            if types.contains("text/html"), let h = HTMLText.table(for: v) { b["text/html"] = h }
        }
        return DisplayData(b)
    }
}
