// ResizedDataset: a data set shown at another square size, by bilinear resampling (PIL's filter,
// in float) or by centred zero padding (28 -> 32 adds 2 pixels on each side).

import Tensor

/// How a data set is brought to a requested size.
public enum ResizeMode: String {
    case bilinear, pad
}

/// `base` with every image resized or padded to `size` x `size`.
public final class ResizedDataset: Dataset {
    public let base: Dataset
    public let size: Int
    public let mode: ResizeMode
    public var count: Int { base.count }
    public var classes: Int { base.classes }
    public var classNames: [String] { base.classNames }
    public var imageShape: (channels: Int, height: Int, width: Int) { (base.imageShape.channels, size, size) }

    /// - Parameters:
    ///   - base: the data set.
    ///   - size: the new side (>= 1; with `.pad` at least the stored size).
    ///   - mode: bilinear resampling or zero padding.
    public init(base: Dataset, size: Int, mode: ResizeMode) throws {
        let s = base.imageShape
        guard size >= 1, size <= 4096 else { throw EngineError.invalidArgument("size must be between 1 and 4096, got \(size)") }
        if mode == .pad, size < s.height || size < s.width {
            throw EngineError.invalidArgument("cannot pad \(s.height)x\(s.width) images to the smaller size \(size); use resize: \"bilinear\"")
        }
        self.base = base
        self.size = size
        self.mode = mode
    }

    public func load(_ index: Int, into out: UnsafeMutablePointer<Float>) throws -> Int {
        let s = base.imageShape
        let n = s.channels * s.height * s.width
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
        defer { tmp.deallocate() }
        let y = try base.load(index, into: tmp)
        switch mode {
        case .bilinear:
            FloatResample.resize(tmp, channels: s.channels, inW: s.width, inH: s.height,
                                 into: out, outW: size, outH: size, filter: .bilinear)
        case .pad:
            out.update(repeating: 0, count: s.channels * size * size)
            let top = (size - s.height) / 2, left = (size - s.width) / 2
            for c in 0..<s.channels {
                for r in 0..<s.height {
                    (out + c * size * size + (r + top) * size + left)
                        .update(from: tmp + c * s.height * s.width + r * s.width, count: s.width)
                }
            }
        }
        return y
    }

    public func label(_ index: Int) throws -> Int { try base.label(index) }
}
