// Crops and flips on 8-bit images with torchvision/timm semantics: RandomResizedCrop (including its
// central-crop fallback), Resize(shorter side) + CenterCrop for evaluation, RandomCrop with padding,
// horizontal flip.
import Foundation
import Tensor

/// A crop rectangle: top row, left column, height, width.
public struct CropBox: Equatable {
    public var top: Int, left: Int, height: Int, width: Int
    public init(top: Int, left: Int, height: Int, width: Int) {
        self.top = top; self.left = left; self.height = height; self.width = width
    }
}

extension PixelImage {
    /// The pixels inside `box`; parts outside the image are 0 (as Pillow's Image.crop).
    public func cropped(_ box: CropBox) -> PixelImage {
        var out = PixelImage(width: max(box.width, 0), height: max(box.height, 0), channels: channels)
        let c = channels
        let x0 = max(box.left, 0), x1 = min(box.left + box.width, width)
        guard x1 > x0 else { return out }
        for y in 0..<box.height {
            let sy = box.top + y
            guard sy >= 0, sy < height else { continue }
            let s = (sy * width + x0) * c
            let d = (y * box.width + (x0 - box.left)) * c
            for i in 0..<((x1 - x0) * c) { out.pixels[d + i] = pixels[s + i] }
        }
        return out
    }

    /// The image mirrored left-right.
    public func flippedHorizontally() -> PixelImage {
        var out = self
        let c = channels
        for y in 0..<height {
            for x in 0..<width {
                for ch in 0..<c { out.pixels[(y * width + x) * c + ch] = pixels[(y * width + width - 1 - x) * c + ch] }
            }
        }
        return out
    }

    /// The image with `pad` pixels of `fill` added on every side.
    public func padded(_ pad: Int, fill: UInt8 = 0) -> PixelImage {
        guard pad > 0 else { return self }
        var out = PixelImage(width: width + 2 * pad, height: height + 2 * pad, channels: channels, value: fill)
        let c = channels
        for y in 0..<height {
            for i in 0..<(width * c) { out.pixels[((y + pad) * out.width + pad) * c + i] = pixels[y * width * c + i] }
        }
        return out
    }
}

/// torchvision's RandomResizedCrop: area fraction in `scale`, log-uniform aspect ratio in `ratio`,
/// 10 attempts, then the central crop clamped to the ratio range; the crop is resized to `size`.
public struct RandomResizedCrop {
    public var size: Int
    public var scale: (Double, Double)
    public var ratio: (Double, Double)
    public var filter: ResampleFilter

    /// - Parameters:
    ///   - size: output side.
    ///   - scale: range of the crop's area as a fraction of the image (default (0.08, 1)).
    ///   - ratio: range of the crop's aspect ratio w/h (default (3/4, 4/3)).
    ///   - filter: resampling filter (timm/ConvNeXt training: bicubic).
    public init(size: Int, scale: (Double, Double) = (0.08, 1), ratio: (Double, Double) = (3.0 / 4, 4.0 / 3),
                filter: ResampleFilter = .bicubic) {
        self.size = size; self.scale = scale; self.ratio = ratio; self.filter = filter
    }

    /// The crop box for an image of `width` x `height` (torchvision's get_params).
    public func box(width: Int, height: Int, rng: RNG) -> CropBox {
        let area = Double(width * height)
        let logr = (log(ratio.0), log(ratio.1))
        for _ in 0..<10 {
            let target = (scale.0 + (scale.1 - scale.0) * rng.uniformDouble()) * area
            let aspect = exp(logr.0 + (logr.1 - logr.0) * rng.uniformDouble())
            let w = Int((target * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((target / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0, h > 0, w <= width, h <= height {
                let i = rng.int(height - h + 1)
                let j = rng.int(width - w + 1)
                return CropBox(top: i, left: j, height: h, width: w)
            }
        }
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < min(ratio.0, ratio.1) {
            h = Int((Double(w) / min(ratio.0, ratio.1)).rounded(.toNearestOrEven))
        } else if inRatio > max(ratio.0, ratio.1) {
            w = Int((Double(h) * max(ratio.0, ratio.1)).rounded(.toNearestOrEven))
        }
        return CropBox(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
    }

    /// Crops `box` and resizes it to `size` x `size` (torchvision's resized_crop on a PIL image).
    public func apply(_ img: PixelImage, box: CropBox) -> PixelImage {
        img.cropped(box).resized(width: size, height: size, filter: filter)
    }
}

/// Evaluation view: resize the shorter side to floor(size / cropPct) (256 for 224 with the default
/// 0.875), then take the centre `size` x `size` crop (torchvision Resize + CenterCrop).
public struct ResizeCenterCrop {
    public var size: Int
    public var cropPct: Double
    public var filter: ResampleFilter

    /// - Parameters:
    ///   - size: output side.
    ///   - cropPct: crop fraction (timm default 0.875).
    ///   - filter: resampling filter.
    public init(size: Int, cropPct: Double = 0.875, filter: ResampleFilter = .bicubic) {
        self.size = size; self.cropPct = cropPct; self.filter = filter
    }

    /// The size an image of `width` x `height` is resized to before the crop.
    public func resizedSize(width w: Int, height h: Int) -> (width: Int, height: Int) {
        let scaleSize = Int((Double(size) / cropPct).rounded(.down))
        return w <= h
            ? (scaleSize, Int(Swift.min(Double(scaleSize) * Double(h) / Double(Swift.max(w, 1)), 1e15)))
            : (Int(Swift.min(Double(scaleSize) * Double(w) / Double(Swift.max(h, 1)), 1e15)), scaleSize)
    }

    public func apply(_ img: PixelImage) -> PixelImage {
        let (w, h) = (img.width, img.height)
        let (nw, nh) = resizedSize(width: w, height: h)
        var r = (nw == w && nh == h) ? img : img.resized(width: nw, height: nh, filter: filter)
        if r.width < size || r.height < size { // CenterCrop pads when the image is smaller
            let p = max(size - r.width, size - r.height)
            r = r.padded((p + 1) / 2)
        }
        let top = Int((Double(r.height - size) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(r.width - size) / 2).rounded(.toNearestOrEven))
        return r.cropped(CropBox(top: top, left: left, height: size, width: size))
    }
}

/// torchvision's RandomCrop(size, padding): zero-pad every side, then a uniformly placed crop.
public struct PadCrop {
    public var size: Int
    public var padding: Int

    public init(size: Int, padding: Int) { self.size = size; self.padding = padding }

    public func apply(_ img: PixelImage, rng: RNG) -> PixelImage {
        let p = img.padded(padding)
        let i = rng.int(max(p.height - size, 0) + 1)
        let j = rng.int(max(p.width - size, 0) + 1)
        if p.width < size || p.height < size { return p.resized(width: size, height: size, filter: .bilinear) }
        return p.cropped(CropBox(top: i, left: j, height: size, width: size))
    }
}
