// A Scene rasterized by cairo (Debian libcairo2-dev) and written as PNG bytes; the same primitives
// as the SVG writer, so the PNG and the SVG of a figure show the same picture.
import CCairo
import Engine
import Foundation

enum CairoRenderer {
    /// PNG bytes of `s` at `scale` device pixels per scene pixel.
    /// - Throws: `RuntimeError.message` when cairo cannot make the surface or the PNG.
    static func png(_ s: Scene, scale: Double = 2) throws -> [UInt8] {
        let w = Int32((s.width * scale).rounded()), h = Int32((s.height * scale).rounded())
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h),
              cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else {
            throw RuntimeError.message("cannot make a \(w)x\(h) image for the figure")
        }
        defer { cairo_surface_destroy(surface) }
        guard let cr = cairo_create(surface) else { throw RuntimeError.message("cairo_create failed") }
        defer { cairo_destroy(cr) }
        cairo_scale(cr, scale, scale)
        cairo_set_source_rgb(cr, 1, 1, 1)
        cairo_paint(cr)
        for shape in s.shapes { draw(shape, cr) }
        cairo_surface_flush(surface)
        var bytes: [UInt8] = []
        let status = withUnsafeMutablePointer(to: &bytes) { ptr in
            cairo_surface_write_to_png_stream(surface, { closure, data, length in
                guard let c = closure, let d = data else { return CAIRO_STATUS_WRITE_ERROR }
                c.assumingMemoryBound(to: [UInt8].self).pointee.append(contentsOf: UnsafeBufferPointer(start: d, count: Int(length)))
                return CAIRO_STATUS_SUCCESS
            }, ptr)
        }
        guard status == CAIRO_STATUS_SUCCESS else {
            throw RuntimeError.message("cairo could not encode the PNG: \(String(cString: cairo_status_to_string(status)))")
        }
        return bytes
    }

    static func color(_ cr: OpaquePointer, _ c: RGB) { cairo_set_source_rgb(cr, c.r, c.g, c.b) }

    static func draw(_ shape: Shape, _ cr: OpaquePointer) {
        switch shape {
        case .polyline(let pts, let c, let w):
            guard let first = pts.first else { return }
            color(cr, c)
            cairo_set_line_width(cr, w)
            cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
            cairo_move_to(cr, first.x, first.y)
            for p in pts.dropFirst() { cairo_line_to(cr, p.x, p.y) }
            cairo_stroke(cr)
        case .circle(let p, let r, let c):
            color(cr, c)
            cairo_arc(cr, p.x, p.y, r, 0, 2 * Double.pi)
            cairo_fill(cr)
        case .rect(let x, let y, let w, let h, let fill, let stroke):
            cairo_rectangle(cr, x, y, w, h)
            if let f = fill { color(cr, f); stroke == nil ? cairo_fill(cr) : cairo_fill_preserve(cr) }
            if let s = stroke { color(cr, s); cairo_set_line_width(cr, 1); cairo_stroke(cr) }
        case .text(let t, let p, let size, let anchor, let c, let bold, let vertical):
            color(cr, c)
            cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
            cairo_set_font_size(cr, size)
            var ext = cairo_text_extents_t()
            cairo_text_extents(cr, t, &ext)
            let dx = anchor == .start ? 0 : anchor == .middle ? -ext.x_advance / 2 : -ext.x_advance
            cairo_save(cr)
            cairo_translate(cr, p.x, p.y)
            if vertical { cairo_rotate(cr, -Double.pi / 2) }
            cairo_move_to(cr, dx, 0)
            cairo_show_text(cr, t)
            cairo_restore(cr)
        case .image(let img, let x, let y, let w, let h):
            drawImage(img, x: x, y: y, w: w, h: h, cr)
        case .begin, .end:
            break
        }
    }

    /// Draws an 8-bit gray or RGB image scaled to the rectangle with nearest-neighbour sampling.
    static func drawImage(_ img: PixelImage, x: Double, y: Double, w: Double, h: Double, _ cr: OpaquePointer) {
        let stride = Int(cairo_format_stride_for_width(CAIRO_FORMAT_RGB24, Int32(img.width)))
        var buf = [UInt8](repeating: 0, count: stride * img.height)
        for j in 0..<img.height {
            for i in 0..<img.width {
                let o = j * stride + 4 * i
                let r = img.at(i, j, 0), g = img.at(i, j, img.channels == 3 ? 1 : 0), b = img.at(i, j, img.channels == 3 ? 2 : 0)
                buf[o] = b; buf[o + 1] = g; buf[o + 2] = r; buf[o + 3] = 255
            }
        }
        buf.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self),
                  let src = cairo_image_surface_create_for_data(base, CAIRO_FORMAT_RGB24, Int32(img.width), Int32(img.height), Int32(stride)) else { return }
            cairo_save(cr)
            cairo_translate(cr, x, y)
            cairo_scale(cr, w / Double(img.width), h / Double(img.height))
            cairo_set_source_surface(cr, src, 0, 0)
            cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST)
            cairo_paint(cr)
            cairo_restore(cr)
            cairo_surface_destroy(src)
        }
    }
}
