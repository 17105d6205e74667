// A figure laid out as drawing primitives in pixels (y down), drawn the same way by the SVG
// writer and by cairo (PNG), so both outputs show the same picture (docs/figures.md).
import Engine

struct RGB {
    var r, g, b: Double
    init(_ r: Double, _ g: Double, _ b: Double) { self.r = r; self.g = g; self.b = b }
    static let black = RGB(0.13, 0.13, 0.13), grid = RGB(0.9, 0.9, 0.9), axis = RGB(0.4, 0.4, 0.4), white = RGB(1, 1, 1)
    static func series(_ i: Int) -> RGB { let p = palette[i % palette.count]; return RGB(p.0, p.1, p.2) }
    var hex: String {
        func h(_ v: Double) -> String { let s = String(Int((max(0, min(1, v)) * 255).rounded()), radix: 16); return s.count == 1 ? "0" + s : s }
        return "#" + h(r) + h(g) + h(b)
    }
}

struct Point { var x, y: Double }

enum Anchor: String { case start, middle, end }

/// One drawing primitive.
enum Shape {
    case polyline([Point], RGB, width: Double)
    case circle(Point, radius: Double, RGB)
    case rect(x: Double, y: Double, w: Double, h: Double, fill: RGB?, stroke: RGB?)
    case text(String, Point, size: Double, anchor: Anchor, RGB, bold: Bool, vertical: Bool)
    case image(PixelImage, x: Double, y: Double, w: Double, h: Double)
    /// Starts a group (an SVG `<g class=... data-label=...>`, for the report's DOM checks); cairo ignores it.
    case begin(cls: String, label: String?)
    case end
}

/// A picture of `width` x `height` pixels.
struct Scene {
    var width: Double
    var height: Double
    var shapes: [Shape] = []
}

/// Approximate width of `text` at font `size` (sans-serif average advance), for layout.
func textWidth(_ text: String, size: Double) -> Double { Double(text.count) * size * 0.56 }
