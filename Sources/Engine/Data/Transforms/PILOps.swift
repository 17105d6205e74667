// Pillow's 8-bit image operations as timm's RandAugment uses them, reproduced bit for bit:
// ImageOps (autocontrast, equalize, invert, posterize, solarize), timm's solarize_add, ImageEnhance
// (Color, Contrast, Brightness, Sharpness via Image.blend), and Image.transform(AFFINE) with PIL's
// bilinear/bicubic filters (Geometry.c: a = -1 cubic, out-of-image pixels keep the fill colour).
import Foundation
import Tensor

extension PixelImage {
    /// Applies one 256-entry lookup table per channel.
    func mapped(_ luts: [[UInt8]]) -> PixelImage {
        var out = self
        let c = channels
        out.pixels.withUnsafeMutableBufferPointer { p in
            guard let base = p.baseAddress else { return }
            let n = p.count / max(c, 1)
            for ch in 0..<c {
                luts[ch].withUnsafeBufferPointer { l in
                    guard let lut = l.baseAddress else { return }
                    for i in 0..<n { base[i * c + ch] = lut[Int(base[i * c + ch])] }
                }
            }
        }
        return out
    }

    /// Per-channel histograms (256 bins each).
    func histograms() -> [[Int]] {
        var h = [[Int]](repeating: [Int](repeating: 0, count: 256), count: channels)
        let c = channels
        for (i, v) in pixels.enumerated() { h[i % c][Int(v)] += 1 }
        return h
    }

    /// ImageOps.autocontrast(cutoff=0): stretches each channel's [lo, hi] to [0, 255].
    public func autocontrast() -> PixelImage {
        let luts = histograms().map { h -> [UInt8] in
            guard let lo = h.firstIndex(where: { $0 != 0 }), let hi = h.lastIndex(where: { $0 != 0 }), hi > lo else {
                return (0..<256).map { UInt8($0) }
            }
            let scale = 255.0 / Double(hi - lo)
            let offset = -Double(lo) * scale
            return (0..<256).map { ix in
                let v = Int(Double(ix) * scale + offset) // Python int(): toward zero
                return UInt8(min(max(v, 0), 255))
            }
        }
        return mapped(luts)
    }

    /// ImageOps.equalize: per channel histogram equalisation with PIL's step rule.
    public func equalize() -> PixelImage {
        let luts = histograms().map { h -> [UInt8] in
            let histo = h.filter { $0 != 0 }
            guard histo.count > 1 else { return (0..<256).map { UInt8($0) } }
            let step = (histo.reduce(0, +) - histo[histo.count - 1]) / 256
            guard step != 0 else { return (0..<256).map { UInt8($0) } }
            var n = step / 2
            var lut = [UInt8]()
            for i in 0..<256 {
                lut.append(UInt8(min(n / step, 255)))
                n += h[i]
            }
            return lut
        }
        return mapped(luts)
    }

    /// ImageOps.invert: 255 - x.
    public func inverted() -> PixelImage {
        mapped([[UInt8]](repeating: (0..<256).map { UInt8(255 - $0) }, count: channels))
    }

    /// ImageOps.posterize: keep the top `bits` bits (timm: 8 or more bits leaves the image unchanged).
    public func posterized(bits: Int) -> PixelImage {
        guard bits < 8 else { return self }
        let mask = ~((1 << (8 - max(bits, 0))) - 1)
        return mapped([[UInt8]](repeating: (0..<256).map { UInt8($0 & mask & 255) }, count: channels))
    }

    /// ImageOps.solarize: values at or above `threshold` are inverted.
    public func solarized(threshold: Int) -> PixelImage {
        mapped([[UInt8]](repeating: (0..<256).map { UInt8($0 < threshold ? $0 : 255 - $0) }, count: channels))
    }

    /// timm's solarize_add: values below `threshold` get `add` added (capped at 255).
    public func solarizeAdded(_ add: Int, threshold: Int = 128) -> PixelImage {
        mapped([[UInt8]](repeating: (0..<256).map { UInt8($0 < threshold ? min(255, $0 + add) : $0) }, count: channels))
    }

    /// Image.blend(degenerate, self, factor) with Pillow's float32 arithmetic and truncation.
    func blended(from degenerate: PixelImage, factor: Double) -> PixelImage {
        var out = self
        let alpha = Float(factor)
        let interpolate = alpha >= 0 && alpha <= 1
        degenerate.pixels.withUnsafeBufferPointer { dp in
            out.pixels.withUnsafeMutableBufferPointer { op in
                guard let d = dp.baseAddress, let o = op.baseAddress else { return }
                for i in 0..<op.count {
                    let a = Float(Int(d[i])), b = Float(Int(o[i]))
                    let v: Float = a + alpha * (b - a)
                    if interpolate {
                        o[i] = UInt8(v)
                    } else {
                        o[i] = v <= 0 ? 0 : (v >= 255 ? 255 : UInt8(v))
                    }
                }
            }
        }
        return out
    }

    /// Pillow's RGB -> L conversion (ITU-R 601-2 luma, fixed point with rounding).
    func luma() -> [UInt8] {
        guard channels == 3 else { return pixels }
        var l = [UInt8](repeating: 0, count: width * height)
        for i in 0..<(width * height) {
            let r = Int(pixels[3 * i]), g = Int(pixels[3 * i + 1]), b = Int(pixels[3 * i + 2])
            l[i] = UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
        }
        return l
    }

    /// ImageEnhance.Color: blend with the grayscale version (identity for gray images).
    public func colorEnhanced(_ factor: Double) -> PixelImage {
        guard channels == 3 else { return blended(from: self, factor: factor) }
        let l = luma()
        var gray = self
        for i in 0..<(width * height) { for c in 0..<3 { gray.pixels[3 * i + c] = l[i] } }
        return blended(from: gray, factor: factor)
    }

    /// ImageEnhance.Contrast: blend with a flat image at the rounded mean luma.
    public func contrastEnhanced(_ factor: Double) -> PixelImage {
        let l = luma()
        let mean = Int(Double(l.reduce(0) { $0 + Int($1) }) / Double(max(l.count, 1)) + 0.5)
        let flat = PixelImage(width: width, height: height, channels: channels, value: UInt8(min(max(mean, 0), 255)))
        return blended(from: flat, factor: factor)
    }

    /// ImageEnhance.Brightness: blend with black.
    public func brightnessEnhanced(_ factor: Double) -> PixelImage {
        blended(from: PixelImage(width: width, height: height, channels: channels, value: 0), factor: factor)
    }

    /// ImageFilter.SMOOTH (3x3 kernel 1 1 1 / 1 5 1 / 1 1 1, scale 13); border pixels are copied.
    func smoothed() -> PixelImage {
        var out = self
        guard width > 2, height > 2 else { return out }
        let c = channels, W = width
        let k1: Float = 1.0 / 13, k5: Float = 5.0 / 13
        pixels.withUnsafeBufferPointer { ip in
            out.pixels.withUnsafeMutableBufferPointer { op in
                guard let p = ip.baseAddress, let o = op.baseAddress else { return }
                @inline(__always) func v(_ x: Int, _ y: Int, _ ch: Int) -> Float { Float(p[(y * W + x) * c + ch]) }
                for y in 1..<(height - 1) {
                    for x in 1..<(W - 1) {
                        for ch in 0..<c {
                            // Pillow sums the rows bottom-up (y+1, y, y-1), each left to right, in float
                            var ss: Float = 0
                            ss += v(x - 1, y + 1, ch) * k1 + v(x, y + 1, ch) * k1 + v(x + 1, y + 1, ch) * k1
                            ss += v(x - 1, y, ch) * k1 + v(x, y, ch) * k5 + v(x + 1, y, ch) * k1
                            ss += v(x - 1, y - 1, ch) * k1 + v(x, y - 1, ch) * k1 + v(x + 1, y - 1, ch) * k1
                            ss += 0.5
                            o[(y * W + x) * c + ch] = ss <= 0 ? 0 : (ss >= 255 ? 255 : UInt8(ss))
                        }
                    }
                }
            }
        }
        return out
    }

    /// ImageEnhance.Sharpness: blend with the SMOOTH-filtered image.
    public func sharpnessEnhanced(_ factor: Double) -> PixelImage {
        blended(from: smoothed(), factor: factor)
    }

    /// Image.transform(size, AFFINE, (a, b, c, d, e, f), resample, fillcolor): output pixel (x, y)
    /// samples the input at (a*(x+.5) + b*(y+.5) + c, d*(x+.5) + e*(y+.5) + f); points outside the
    /// input keep `fill`.
    /// - Parameters:
    ///   - m: the inverse affine matrix (output -> input), as PIL takes it.
    ///   - filter: bilinear or bicubic (PIL Geometry.c kernels).
    ///   - fill: the fill colour per channel.
    public func affine(_ m: [Double], filter: ResampleFilter, fill: [UInt8]) -> PixelImage {
        // out: (H, W, C) with every pixel sampled from the input at the inverse-mapped point
        var out = PixelImage(width: width, height: height, channels: channels)
        let c = channels
        let W = width, H = height
        pixels.withUnsafeBufferPointer { ip in
            out.pixels.withUnsafeMutableBufferPointer { op in
                guard let inp = ip.baseAddress, let o = op.baseAddress else { return }
                for i in 0..<(W * H) { for ch in 0..<c { o[i * c + ch] = fill[min(ch, fill.count - 1)] } }
                @inline(__always) func clipX(_ x: Int) -> Int { x < 0 ? 0 : (x < W ? x : W - 1) }
                @inline(__always) func clipY(_ y: Int) -> Int { y < 0 ? 0 : (y < H ? y : H - 1) }
                @inline(__always) func cubic(_ v1: Double, _ v2: Double, _ v3: Double, _ v4: Double, _ d: Double) -> Double {
                    let p2 = -v1 + v3, p3 = 2 * (v1 - v2) + v3 - v4, p4 = -v1 + v2 - v3 + v4
                    return v2 + d * (p2 + d * (p3 + d * p4))
                }
                @inline(__always) func store(_ v: Double, _ at: Int) {
                    o[at] = v <= 0 ? 0 : (v >= 255 ? 255 : UInt8(v))
                }
                for y in 0..<H {
                    let yo = Double(y) + 0.5
                    for x in 0..<W {
                        let xo = Double(x) + 0.5
                        var xin = m[0] * xo + m[1] * yo + m[2]
                        var yin = m[3] * xo + m[4] * yo + m[5]
                        if xin < 0 || xin >= Double(W) || yin < 0 || yin >= Double(H) { continue }
                        xin -= 0.5; yin -= 0.5
                        let fx = Int(xin.rounded(.down)), fy = Int(yin.rounded(.down))
                        let dx = xin - Double(fx), dy = yin - Double(fy)
                        let dst = (y * W + x) * c
                        switch filter {
                        case .bilinear:
                            let x0 = clipX(fx) * c, x1 = clipX(fx + 1) * c
                            let r0 = clipY(fy) * W * c
                            let has1 = fy + 1 >= 0 && fy + 1 < H
                            let r1 = (fy + 1) * W * c
                            for ch in 0..<c {
                                let a0 = Double(inp[r0 + x0 + ch]), a1 = Double(inp[r0 + x1 + ch])
                                let v1 = a0 + (a1 - a0) * dx
                                var v2 = v1
                                if has1 {
                                    let b0 = Double(inp[r1 + x0 + ch]), b1 = Double(inp[r1 + x1 + ch])
                                    v2 = b0 + (b1 - b0) * dx
                                }
                                store(v1 + (v2 - v1) * dy, dst + ch)
                            }
                        case .bicubic:
                            let bx = fx - 1, by = fy - 1
                            let x0 = clipX(bx) * c, x1 = clipX(bx + 1) * c, x2 = clipX(bx + 2) * c, x3 = clipX(bx + 3) * c
                            // rows: the first is clipped; later rows outside the image repeat the previous value
                            let r0 = clipY(by) * W * c
                            let ok1 = by + 1 >= 0 && by + 1 < H, ok2 = by + 2 >= 0 && by + 2 < H, ok3 = by + 3 >= 0 && by + 3 < H
                            for ch in 0..<c {
                                @inline(__always) func row(_ r: Int) -> Double {
                                    cubic(Double(inp[r + x0 + ch]), Double(inp[r + x1 + ch]), Double(inp[r + x2 + ch]), Double(inp[r + x3 + ch]), dx)
                                }
                                let w1 = row(r0)
                                let w2 = ok1 ? row((by + 1) * W * c) : w1
                                let w3 = ok2 ? row((by + 2) * W * c) : w2
                                let w4 = ok3 ? row((by + 3) * W * c) : w3
                                store(cubic(w1, w2, w3, w4, dy), dst + ch)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Image.rotate(degrees, resample, fillcolor) about the centre, same size (expand = False).
    public func rotated(degrees: Double, filter: ResampleFilter, fill: [UInt8]) -> PixelImage {
        var a = degrees.truncatingRemainder(dividingBy: 360)
        if a < 0 { a += 360 }
        if a == 0 { return self }
        let r = -a * Double.pi / 180
        func round15(_ v: Double) -> Double { (v * 1e15).rounded(.toNearestOrEven) / 1e15 }
        var m = [round15(cos(r)), round15(sin(r)), 0.0, round15(-sin(r)), round15(cos(r)), 0.0]
        let cx = Double(width) / 2, cy = Double(height) / 2
        m[2] = m[0] * -cx + m[1] * -cy
        m[5] = m[3] * -cx + m[4] * -cy
        m[2] += cx
        m[5] += cy
        if a == 180 { return rotated180() }
        return affine(m, filter: filter, fill: fill)
    }

    func rotated180() -> PixelImage {
        var out = self
        let c = channels, n = width * height
        for i in 0..<n { for ch in 0..<c { out.pixels[i * c + ch] = pixels[(n - 1 - i) * c + ch] } }
        return out
    }
}
