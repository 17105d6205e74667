// Resampling with PIL's convolution algorithm (Image.resize): separable filter whose support grows
// with the downscale factor (antialiasing), horizontal pass first, 8-bit fixed point with 22
// fractional bits for uint8 images (bit-identical with Pillow), plain float for float images.
import Foundation
import Tensor

/// Resampling filters (PIL names).
public enum ResampleFilter: String {
    case bilinear, bicubic

    var support: Double { self == .bilinear ? 1 : 2 }

    @inline(__always) func weight(_ x: Double) -> Double {
        let x = abs(x)
        switch self {
        case .bilinear:
            return x < 1 ? 1 - x : 0
        case .bicubic:
            let a = -0.5
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
    }
}

/// The filter taps of one resampling pass: for each output index, the first input index, the
/// number of taps and `ksize` weights.
struct ResampleTaps {
    var start: [Int]
    var length: [Int]
    var weights: [Double]
    var ksize: Int

    /// PIL's precompute_coeffs: input span [in0, in1) of a line of `inSize` resampled to `outSize`.
    init(inSize: Int, in0: Double, in1: Double, outSize: Int, filter: ResampleFilter) {
        let scale = (in1 - in0) / Double(outSize)
        let filterscale = max(scale, 1)
        let support = filter.support * filterscale
        ksize = Int(support.rounded(.up)) * 2 + 1
        start = [Int](repeating: 0, count: outSize)
        length = [Int](repeating: 0, count: outSize)
        weights = [Double](repeating: 0, count: outSize * ksize)
        let ss = 1 / filterscale
        for xx in 0..<outSize {
            let center = in0 + (Double(xx) + 0.5) * scale
            var xmin = Int(center - support + 0.5)
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            xmax -= xmin
            var ww = 0.0
            for x in 0..<max(xmax, 0) {
                let w = filter.weight((Double(x + xmin) - center + 0.5) * ss)
                weights[xx * ksize + x] = w
                ww += w
            }
            if ww != 0 { for x in 0..<max(xmax, 0) { weights[xx * ksize + x] /= ww } }
            start[xx] = xmin
            length[xx] = max(xmax, 0)
        }
    }

    /// PIL's normalize_coeffs_8bpc: weights in fixed point with 22 fractional bits.
    var fixed: [Int32] {
        weights.map { w in
            w < 0 ? Int32(-0.5 + w * Double(1 << 22)) : Int32(0.5 + w * Double(1 << 22))
        }
    }
}

@inline(__always) private func clip8(_ v: Int) -> UInt8 {
    if v >= (1 << 22) << 8 { return 255 }
    if v <= 0 { return 0 }
    return UInt8(v >> 22)
}

extension PixelImage {
    /// Resizes the region `box` = (x0, y0, x1, y1) of the image to `width` x `height` exactly as
    /// Pillow's `Image.resize(size, filter, box)` does on 8-bit images.
    /// - Parameters:
    ///   - width: output width (>= 1).
    ///   - height: output height (>= 1).
    ///   - filter: bilinear or bicubic.
    ///   - box: source region in pixels (default: the whole image).
    public func resized(width ow: Int, height oh: Int, filter: ResampleFilter,
                        box: (Double, Double, Double, Double)? = nil) -> PixelImage {
        let b = box ?? (0, 0, Double(width), Double(height))
        if ow == width, oh == height, b == (0, 0, Double(width), Double(height)) { return self }
        let needH = ow != width || b.0 != 0 || b.2 != Double(ow)
        let needV = oh != height || b.1 != 0 || b.3 != Double(oh)
        let th = ResampleTaps(inSize: width, in0: b.0, in1: b.2, outSize: ow, filter: filter)
        var tv = ResampleTaps(inSize: height, in0: b.1, in1: b.3, outSize: oh, filter: filter)
        let c = channels
        var src = self
        if needH {
            let first = tv.start[0]
            let last = tv.start[oh - 1] + tv.length[oh - 1]
            for i in 0..<oh { tv.start[i] -= first }
            let rows = max(last - first, 0)
            var tmp = PixelImage(width: ow, height: rows, channels: c)
            let kf = th.fixed
            let ks = th.ksize
            pixels.withUnsafeBufferPointer { ip in
                tmp.pixels.withUnsafeMutableBufferPointer { op in
                    kf.withUnsafeBufferPointer { kp in
                        th.start.withUnsafeBufferPointer { sp in
                            th.length.withUnsafeBufferPointer { lp in
                                guard let inp = ip.baseAddress, let out = op.baseAddress, let k = kp.baseAddress,
                                      let st = sp.baseAddress, let ln = lp.baseAddress else { return }
                                for y in 0..<rows {
                                    let row = inp + (y + first) * width * c
                                    let orow = out + y * ow * c
                                    for xx in 0..<ow {
                                        let src = row + st[xx] * c, n = ln[xx], kk = k + xx * ks
                                        if c == 3 {
                                            var s0 = 1 << 21, s1 = 1 << 21, s2 = 1 << 21
                                            for x in 0..<n {
                                                let w = Int(kk[x]), p = src + x * 3
                                                s0 += Int(p[0]) * w; s1 += Int(p[1]) * w; s2 += Int(p[2]) * w
                                            }
                                            orow[xx * 3] = clip8(s0); orow[xx * 3 + 1] = clip8(s1); orow[xx * 3 + 2] = clip8(s2)
                                            continue
                                        }
                                        for ch in 0..<c {
                                            var ss = 1 << 21
                                            for x in 0..<n { ss += Int(src[x * c + ch]) * Int(kk[x]) }
                                            orow[xx * c + ch] = clip8(ss)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            src = tmp
        }
        guard needV else { return src }
        var out = PixelImage(width: src.width, height: oh, channels: c)
        let kf = tv.fixed
        let ks = tv.ksize
        let w = src.width
        src.pixels.withUnsafeBufferPointer { ip in
            out.pixels.withUnsafeMutableBufferPointer { op in
                kf.withUnsafeBufferPointer { kp in
                    guard let inp = ip.baseAddress, let o = op.baseAddress, let k = kp.baseAddress else { return }
                    let stride = w * c
                    // accumulate whole rows (contiguous, vectorisable); Int32 cannot overflow: the
                    // weights' absolute sum is below 2^23 and pixels below 2^8
                    let acc = UnsafeMutablePointer<Int32>.allocate(capacity: max(stride, 1))
                    defer { acc.deallocate() }
                    for yy in 0..<oh {
                        let ymin = tv.start[yy], n = tv.length[yy], kk = k + yy * ks
                        acc.update(repeating: 1 << 21, count: stride)
                        for y in 0..<n {
                            let wgt = kk[y]
                            let r = inp + (ymin + y) * stride
                            for i in 0..<stride { acc[i] &+= Int32(r[i]) &* wgt }
                        }
                        let orow = o + yy * stride
                        for i in 0..<stride { orow[i] = clip8(Int(acc[i])) }
                    }
                }
            }
        }
        return out
    }
}

/// Float resampling of planar images with the same taps (no quantisation between passes).
enum FloatResample {
    /// Resizes `channels` planes of `inW` x `inH` floats to `outW` x `outH`.
    // src: (C, inH, inW) -> dst: (C, outH, outW)
    static func resize(_ src: UnsafePointer<Float>, channels: Int, inW: Int, inH: Int,
                       into dst: UnsafeMutablePointer<Float>, outW: Int, outH: Int, filter: ResampleFilter) {
        let th = ResampleTaps(inSize: inW, in0: 0, in1: Double(inW), outSize: outW, filter: filter)
        let tv = ResampleTaps(inSize: inH, in0: 0, in1: Double(inH), outSize: outH, filter: filter)
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: max(inH * outW, 1))
        defer { tmp.deallocate() }
        for c in 0..<channels {
            let s = src + c * inW * inH
            for y in 0..<inH {
                for xx in 0..<outW {
                    var acc = 0.0
                    for x in 0..<th.length[xx] { acc += Double(s[y * inW + th.start[xx] + x]) * th.weights[xx * th.ksize + x] }
                    tmp[y * outW + xx] = Float(acc)
                }
            }
            let d = dst + c * outW * outH
            for yy in 0..<outH {
                for x in 0..<outW {
                    var acc = 0.0
                    for y in 0..<tv.length[yy] { acc += Double(tmp[(tv.start[yy] + y) * outW + x]) * tv.weights[yy * tv.ksize + y] }
                    d[yy * outW + x] = min(max(Float(acc), 0), 1)
                }
            }
        }
    }
}
