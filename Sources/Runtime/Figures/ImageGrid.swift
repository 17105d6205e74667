// A grid of images with labels (docs/figures.md): one column per example, one row block per
// tensor given (e.g. clean, adversarial, perturbation), wrapped every `cols` examples.
// A block with negative values (a perturbation) is shown as 0.5 + d / (2 max|d|) so that it is
// visible, and its title says by how much it was scaled.
import Engine
import Foundation
import Tensor

struct ImageGrid {
    /// blocks[b][i]: the image of example i in block b.
    var blocks: [[PixelImage]]
    /// A title per block (shown left of its row), or nil.
    var titles: [String?]
    /// labels[b][i]: the text under image i in block b ("" for none).
    var labels: [[String]]
    var cols: Int
    var title: String?

    var count: Int { blocks.first?.count ?? 0 }
    var bands: Int { (count + cols - 1) / cols }

    /// Images of one N x C x H x W tensor; returns them and, for a block with negative values,
    /// the factor it was scaled by.
    static func images(_ t: Tensor, what: String) throws -> ([PixelImage], Double?) {
        guard t.rank == 4, [1, 3].contains(t.shape[1]), t.shape[0] >= 1, t.shape[2] >= 1, t.shape[3] >= 1 else {
            throw RuntimeError.value("grid: \(what) must be N x C x H x W with C = 1 or 3, got shape \(t.shape)")
        }
        let (n, c, h, w) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        let per = c * h * w
        var data = Array(UnsafeBufferPointer(start: t.ptr, count: t.count))
        guard data.allSatisfy({ $0.isFinite }) else { throw RuntimeError.value("grid: \(what) contains nan or inf") }
        var scale: Double?
        if let lo = data.min(), lo < 0 {
            let m = Double(data.map { abs($0) }.max() ?? 1)
            scale = m > 0 ? 0.5 / m : 1
            data = data.map { Float(0.5 + Double($0) * (scale ?? 1)) }
        }
        let imgs = data.withUnsafeBufferPointer { b in
            (0..<n).map { PixelImage(chw: b.baseAddress! + $0 * per, channels: c, height: h, width: w) }
        }
        return (imgs, scale)
    }

    /// Display size of one image (small images are enlarged to at least 64 pixels).
    var cell: (w: Double, h: Double) {
        guard let img = blocks.first?.first else { return (64, 64) }
        let k = max(1, (64.0 / Double(max(img.width, img.height))).rounded(.up))
        return (Double(img.width) * k, Double(img.height) * k)
    }

    var hasLabels: Bool { labels.contains { $0.contains { !$0.isEmpty } } }

    /// The grid as a scene: row titles on the left, labels under the images.
    func scene() -> Scene {
        let (cw, ch) = cell
        let left = (titles.compactMap { $0 }.map { textWidth($0, size: 12) + 18 }.max() ?? 8).rounded(.up)
        let labelH = hasLabels ? 16.0 : 0
        let rowH = ch + labelH + 6, colW = max(cw, 40) + 8
        let top = title == nil ? 8.0 : 32
        let bandH = Double(blocks.count) * rowH + 10
        var s = Scene(width: left + Double(min(count, cols)) * colW + 4, height: top + Double(bands) * bandH)
        s.shapes.append(.rect(x: 0, y: 0, w: s.width, h: s.height, fill: .white, stroke: nil))
        if let t = title { s.shapes.append(.text(t, Point(x: s.width / 2, y: 21), size: 15, anchor: .middle, .black, bold: true, vertical: false)) }
        for band in 0..<bands {
            for (b, imgs) in blocks.enumerated() {
                let y = top + Double(band) * bandH + Double(b) * rowH
                s.shapes.append(.begin(cls: "grid-row", label: titles[b]))
                if let t = titles[b] {
                    s.shapes.append(.text(t, Point(x: left - 8, y: y + ch / 2 + 4), size: 12, anchor: .end, .black, bold: false, vertical: false))
                }
                for i in (band * cols)..<min(count, (band + 1) * cols) {
                    let x = left + Double(i - band * cols) * colW + (colW - cw) / 2
                    s.shapes.append(.image(imgs[i], x: x, y: y, w: cw, h: ch))
                    let l = labels[b][i]
                    if !l.isEmpty {
                        s.shapes.append(.text(l, Point(x: x + cw / 2, y: y + ch + 13), size: 11, anchor: .middle, .black, bold: false, vertical: false))
                    }
                }
                s.shapes.append(.end)
            }
        }
        return s
    }

    /// The images alone, one pixel per pixel with a 2-pixel white border (for save_image).
    func composite() -> PixelImage {
        guard let first = blocks.first?.first else { return PixelImage(width: 1, height: 1, channels: 1, value: 255) }
        let (w, h) = (first.width, first.height)
        let c = blocks.flatMap { $0 }.map(\.channels).max() ?? 1
        let pad = 2
        let cw = min(count, cols) * (w + pad) + pad, chh = bands * blocks.count * (h + pad) + pad
        var out = PixelImage(width: cw, height: chh, channels: c, value: 255)
        for band in 0..<bands {
            for (b, imgs) in blocks.enumerated() {
                let oy = pad + (band * blocks.count + b) * (h + pad)
                for i in (band * cols)..<min(count, (band + 1) * cols) {
                    let ox = pad + (i - band * cols) * (w + pad)
                    let img = imgs[i]
                    for y in 0..<h { for x in 0..<w { for k in 0..<c {
                        out.pixels[((oy + y) * cw + ox + x) * c + k] = img.at(x, y, img.channels == 1 ? 0 : k)
                    } } }
                }
            }
        }
        return out
    }
}
