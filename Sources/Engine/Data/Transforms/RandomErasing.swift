// Random erasing (timm RandomErasing, mode "pixel", one region): with probability p, a rectangle of
// area fraction in [0.02, 1/3] and log-uniform aspect ratio in [0.3, 1/0.3] (10 attempts) is filled
// with per-pixel noise. timm draws N(0, 1) in normalised space; in pixel space that is
// 0.5 + 0.25 * N(0, 1), clamped to [0, 1] (normalisation lives in the model).
import Foundation
import Tensor

public struct RandomErasing {
    public var probability: Double
    public var minArea = 0.02, maxArea = 1.0 / 3
    public var minAspect = 0.3

    public init(probability: Double) { self.probability = probability }

    /// Erases in place one (C, H, W) float image.
    // image: (C, H, W) at `p`
    public func apply(_ p: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int, rng: RNG) {
        guard probability > 0, rng.uniformDouble() < probability else { return }
        let area = Double(height * width)
        let (la, lb) = (log(minAspect), log(1 / minAspect))
        for _ in 0..<10 {
            let target = (minArea + (maxArea - minArea) * rng.uniformDouble()) * area
            let aspect = exp(la + (lb - la) * rng.uniformDouble())
            let h = Int((target * aspect).squareRoot().rounded(.toNearestOrEven))
            let w = Int((target / aspect).squareRoot().rounded(.toNearestOrEven))
            if w < width, h < height, w > 0, h > 0 {
                let top = rng.int(height - h + 1), left = rng.int(width - w + 1)
                for c in 0..<channels { for y in top..<(top + h) { for x in left..<(left + w) {
                    p[c * height * width + y * width + x] = min(max(0.5 + 0.25 * rng.normal(), 0), 1)
                } } }
                return
            }
        }
    }
}
