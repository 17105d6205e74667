// JPEG (libjpeg-turbo) and PNG (libpng's simplified API) decoding to 8-bit images, and JPEG/PNG
// encoding (benchmarks, tests). Every failure names the file and what is wrong with it.
import CJPEG
import CPNG
import Foundation
import Tensor

public enum ImageFile {
    /// Largest accepted image, in pixels (a malicious header cannot make us allocate more).
    public static let maxPixels = 64 << 20

    /// Decodes a JPEG or PNG file (chosen by its signature).
    /// - Parameters:
    ///   - path: the file.
    ///   - channels: 1 (gray), 3 (RGB) or 0 (as stored).
    public static func read(_ path: String, channels: Int = 3) throws -> PixelImage {
        // An encoded image is far smaller than its pixels; 1 GiB is beyond any accepted image.
        return try decode(try FileContents.read(path, limit: 1 << 30), channels: channels, source: path)
    }

    /// Decodes JPEG or PNG bytes.
    /// - Parameters:
    ///   - bytes: the encoded file.
    ///   - channels: 1, 3 or 0 (as stored).
    ///   - source: what to name in errors.
    public static func decode(_ bytes: [UInt8], channels: Int = 3, source: String) throws -> PixelImage {
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF {
            return try decodeJPEG(bytes, channels: channels, source: source)
        }
        if bytes.count >= 8, bytes[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            return try decodePNG(bytes, channels: channels, source: source)
        }
        throw EngineError.io("\(source) is neither a JPEG nor a PNG file (unrecognised signature)")
    }

    static func decodeJPEG(_ bytes: [UInt8], channels: Int, source: String) throws -> PixelImage {
        var out: UnsafeMutablePointer<UInt8>? = nil
        var w: Int32 = 0, h: Int32 = 0, c: Int32 = 0
        var err = [CChar](repeating: 0, count: 256)
        let rc = bytes.withUnsafeBufferPointer { b in
            adv_jpeg_decode(b.baseAddress, UInt(b.count), Int32(channels), UInt(maxPixels), &out, &w, &h, &c, &err, 256)
        }
        guard rc == 0, let p = out else {
            let msg = String(cString: err)
            throw EngineError.io("\(source) is not a valid JPEG: \(msg.isEmpty ? "decode failed" : msg)")
        }
        defer { free(p) }
        let n = Int(w) * Int(h) * Int(c)
        return PixelImage(width: Int(w), height: Int(h), channels: Int(c), pixels: Array(UnsafeBufferPointer(start: p, count: n)))
    }

    static func decodePNG(_ bytes: [UInt8], channels: Int, source: String) throws -> PixelImage {
        var img = png_image()
        img.version = UInt32(PNG_IMAGE_VERSION)
        func message() -> String {
            withUnsafeBytes(of: img.message) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
        }
        let ok = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&img, $0.baseAddress, $0.count) }
        guard ok != 0 else { throw EngineError.io("\(source) is not a valid PNG: \(message())") }
        let colour = img.format & 0x02 != 0 // PNG_FORMAT_FLAG_COLOR
        let alpha = img.format & 0x01 != 0  // PNG_FORMAT_FLAG_ALPHA
        let c = channels == 0 ? (colour ? 3 : 1) : channels
        // Read alpha along (libpng would composite it) and drop it afterwards, as Pillow's convert does.
        let stored = c + (alpha ? 1 : 0)
        img.format = (c == 1 ? 0 : 0x02) | (alpha ? 0x01 : 0)
        let (w, h) = (Int(img.width), Int(img.height))
        guard w >= 1, h >= 1, w * h <= maxPixels else {
            png_image_free(&img)
            throw EngineError.io("\(source): PNG is \(w)x\(h) pixels, outside 1...\(maxPixels) pixels")
        }
        var raw = [UInt8](repeating: 0, count: w * h * stored)
        let done = raw.withUnsafeMutableBytes { png_image_finish_read(&img, nil, $0.baseAddress, 0, nil) }
        guard done != 0 else {
            let m = message()
            png_image_free(&img)
            throw EngineError.io("\(source) is not a valid PNG: \(m)")
        }
        guard alpha else { return PixelImage(width: w, height: h, channels: c, pixels: raw) }
        var pixels = [UInt8](repeating: 0, count: w * h * c)
        for i in 0..<(w * h) { for ch in 0..<c { pixels[i * c + ch] = raw[i * stored + ch] } }
        return PixelImage(width: w, height: h, channels: c, pixels: pixels)
    }

    /// Encodes a gray or RGB image as JPEG.
    /// - Parameters:
    ///   - image: 1 or 3 channels.
    ///   - quality: 1...100.
    public static func encodeJPEG(_ image: PixelImage, quality: Int = 90) throws -> [UInt8] {
        guard image.channels == 1 || image.channels == 3 else {
            throw EngineError.invalidArgument("JPEG needs 1 or 3 channels, got \(image.channels)")
        }
        var out: UnsafeMutablePointer<UInt8>? = nil
        var len: UInt = 0
        var err = [CChar](repeating: 0, count: 256)
        let rc = image.pixels.withUnsafeBufferPointer { p in
            adv_jpeg_encode(p.baseAddress, Int32(image.width), Int32(image.height), Int32(image.channels),
                            Int32(max(1, min(quality, 100))), &out, &len, &err, 256)
        }
        guard rc == 0, let p = out else { throw EngineError.io("JPEG encoding failed: \(String(cString: err))") }
        defer { free(p) }
        return Array(UnsafeBufferPointer(start: p, count: Int(len)))
    }

    /// Encodes a gray or RGB image as PNG.
    public static func encodePNG(_ image: PixelImage) throws -> [UInt8] {
        var img = png_image()
        img.version = UInt32(PNG_IMAGE_VERSION)
        img.width = UInt32(image.width)
        img.height = UInt32(image.height)
        img.format = image.channels == 1 ? 0 : 0x02
        var size: Int = 0
        let ok1 = image.pixels.withUnsafeBytes { png_image_write_to_memory(&img, nil, &size, 0, $0.baseAddress, 0, nil) }
        guard ok1 != 0, size > 0 else { throw EngineError.io("PNG encoding failed") }
        var out = [UInt8](repeating: 0, count: size)
        let ok2 = out.withUnsafeMutableBytes { o in
            image.pixels.withUnsafeBytes { png_image_write_to_memory(&img, o.baseAddress, &size, 0, $0.baseAddress, 0, nil) }
        }
        guard ok2 != 0 else { throw EngineError.io("PNG encoding failed") }
        return Array(out.prefix(size))
    }
}
