// A Scene as a standalone SVG document (no external fonts or files: images are PNG data URIs).
// Series are `<g class="series" data-label="...">` groups so reports can be checked in a browser.
import Engine
import Foundation

enum SVGRenderer {
    static func render(_ s: Scene) -> String {
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"adv-figure\" width=\"\(n(s.width))\" height=\"\(n(s.height))\" viewBox=\"0 0 \(n(s.width)) \(n(s.height))\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
        for shape in s.shapes {
            switch shape {
            case .polyline(let pts, let c, let w):
                guard !pts.isEmpty else { continue }
                out += "<polyline fill=\"none\" stroke=\"\(c.hex)\" stroke-width=\"\(n(w))\" stroke-linejoin=\"round\" points=\"" + pts.map { "\(n($0.x)),\(n($0.y))" }.joined(separator: " ") + "\"/>\n"
            case .circle(let p, let r, let c):
                out += "<circle cx=\"\(n(p.x))\" cy=\"\(n(p.y))\" r=\"\(n(r))\" fill=\"\(c.hex)\"/>\n"
            case .rect(let x, let y, let w, let h, let fill, let stroke):
                out += "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(w))\" height=\"\(n(h))\" fill=\"\(fill?.hex ?? "none")\"" + (stroke.map { " stroke=\"\($0.hex)\"" } ?? "") + "/>\n"
            case .text(let t, let p, let size, let anchor, let c, let bold, let vertical):
                let rot = vertical ? " transform=\"rotate(-90 \(n(p.x)) \(n(p.y)))\"" : ""
                out += "<text x=\"\(n(p.x))\" y=\"\(n(p.y))\" font-size=\"\(n(size))\" text-anchor=\"\(anchor.rawValue)\" fill=\"\(c.hex)\"" + (bold ? " font-weight=\"bold\"" : "") + rot + ">\(escapeXML(t))</text>\n"
            case .image(let img, let x, let y, let w, let h):
                let png = (try? ImageFile.encodePNG(img)) ?? []
                out += "<image x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(w))\" height=\"\(n(h))\" style=\"image-rendering:pixelated\" preserveAspectRatio=\"none\" href=\"data:image/png;base64,\(Data(png).base64EncodedString())\"/>\n"
            case .begin(let cls, let label):
                out += "<g class=\"\(cls)\"" + (label.map { " data-label=\"\(escapeXML($0))\"" } ?? "") + ">\n"
            case .end:
                out += "</g>\n"
            }
        }
        return out + "</svg>\n"
    }

    /// A coordinate with at most one decimal.
    static func n(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(format: "%.1f", r)
    }
}

/// Text safe inside XML/HTML elements and attributes.
func escapeXML(_ s: String) -> String {
    var out = ""
    for ch in s {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(ch)
        }
    }
    return out
}
