// PixelImage: an 8-bit interleaved image (H, W, C), what PIL holds. The augmentations that must match
// PIL/timm bit for bit (RandAugment, resampling) work on it; batches are float32 (N, C, H, W) in [0, 1].

import Tensor

/// An 8-bit image stored row-major, channels interleaved: pixel (y, x, c) at `(y * width + x) * channels + c`.
public struct PixelImage: Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]

    /// An image filled with `value`.
    public init(width: Int, height: Int, channels: Int, value: UInt8 = 0) {
        self.width = width
        self.height = height
        self.channels = channels
        pixels = [UInt8](repeating: value, count: max(0, width * height * channels))
    }

    /// An image over existing interleaved pixels (count must be width * height * channels).
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// Quantises planar floats in [0, 1] (C, H, W) to 8 bits: round(x * 255), clamped.
    /// - Parameters:
    ///   - chw: C*H*W floats.
    ///   - channels: C.
    ///   - height: H.
    ///   - width: W.
    public init(chw: UnsafePointer<Float>, channels: Int, height: Int, width: Int) {
        self.init(width: width, height: height, channels: channels)
        let plane = width * height
        pixels.withUnsafeMutableBufferPointer { out in
            guard let o = out.baseAddress else { return }
            for c in 0..<channels {
                let src = chw + c * plane
                for i in 0..<plane {
                    let v = (src[i] * 255).rounded()
                    o[i * channels + c] = UInt8(v < 0 ? 0 : (v > 255 ? 255 : v))
                }
            }
        }
    }

    /// x / 255 in float32 for every byte value (what torchvision's ToTensor computes).
    public static let unitLUT: [Float] = (0..<256).map { Float($0) / 255 }

    /// Writes the image as planar floats (C, H, W) in [0, 1] (x / 255).
    /// - Parameters:
    ///   - into: room for C*H*W floats.
    public func writeCHW(into out: UnsafeMutablePointer<Float>) {
        let plane = width * height
        let c = channels
        pixels.withUnsafeBufferPointer { src in
            PixelImage.unitLUT.withUnsafeBufferPointer { lutp in
                guard let s = src.baseAddress, let lut = lutp.baseAddress else { return }
                if c == 1 {
                    for i in 0..<plane { out[i] = lut[Int(s[i])] }
                    return
                }
                for ch in 0..<c {
                    let dst = out + ch * plane
                    for i in 0..<plane { dst[i] = lut[Int(s[i * c + ch])] }
                }
            }
        }
    }

    /// The pixel value at (x, y, c) (no bounds check beyond the array's).
    @inline(__always) public func at(_ x: Int, _ y: Int, _ c: Int) -> UInt8 {
        pixels[(y * width + x) * channels + c]
    }
}
