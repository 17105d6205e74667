// `adv kernel install [--user | --prefix P]`: writes the kernel spec Jupyter finds
// (kernels/adv/kernel.json with this adv's absolute path, and the logos) so that
// `jupyter kernelspec list` shows "adv" (docs/notebooks.md).
import Engine
import Foundation

public enum KernelSpec {
    /// Where the spec goes: PREFIX/share/jupyter/kernels/adv, the user's Jupyter data directory
    /// (JUPYTER_DATA_DIR, else ~/.local/share/jupyter), or /usr/local/share/jupyter.
    public static func directory(user: Bool, prefix: String?) -> String {
        let env = ProcessInfo.processInfo.environment
        let base: String
        if let p = prefix {
            base = (p as NSString).expandingTildeInPath + "/share/jupyter"
        } else if user {
            base = env["JUPYTER_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 }
                ?? (env["HOME"] ?? NSHomeDirectory()) + "/.local/share/jupyter"
        } else {
            base = "/usr/local/share/jupyter"
        }
        return base + "/kernels/adv"
    }

    /// The absolute path of the running adv.
    static var executable: String {
        if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
        let a = CommandLine.arguments[0]
        return a.hasPrefix("/") ? a : FileManager.default.currentDirectoryPath + "/" + a
    }

    /// The kernel.json text.
    static func json(executable: String) -> String {
        let spec: [String: Any] = [
            "argv": [executable, "kernel", "{connection_file}"],
            "display_name": "adv",
            "language": "adv",
            "interrupt_mode": "signal",
            "metadata": [String: Any](),
        ]
        let data = (try? JSONSerialization.data(withJSONObject: spec, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Writes kernel.json and the logos into `directory(user:prefix:)`.
    /// - Returns: the directory written.
    /// - Throws: an error naming the path and the reason.
    @discardableResult
    public static func install(user: Bool, prefix: String?) throws -> String {
        let dir = directory(user: user, prefix: prefix)
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw RuntimeError.message("adv kernel install: cannot create \(dir): \(error.localizedDescription)")
        }
        let files: [(String, Data)] = [
            ("kernel.json", Data(json(executable: executable).utf8)),
            ("logo-svg.svg", Data(logoSVG.utf8)),
            ("logo-32x32.png", Data(try ImageFile.encodePNG(logo(size: 32)))),
            ("logo-64x64.png", Data(try ImageFile.encodePNG(logo(size: 64)))),
        ]
        for (name, data) in files {
            do { try AtomicFile.write(data, to: dir + "/" + name) } catch {
                throw RuntimeError.message("adv kernel install: cannot write \(dir)/\(name): \(error)")
            }
        }
        return dir
    }

    /// The logo: a dark blue square with a red diagonal stroke (a perturbation across an image).
    static let logoSVG = """
        <svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
        <rect width="64" height="64" rx="10" fill="#1d3557"/>
        <path d="M14 50 L50 14" stroke="#e63946" stroke-width="9" stroke-linecap="round"/>
        </svg>

        """

    /// The same logo as RGB pixels of `size` x `size`.
    static func logo(size: Int) -> PixelImage {
        var img = PixelImage(width: size, height: size, channels: 3)
        let s = Double(size) / 64
        for y in 0..<size {
            for x in 0..<size {
                // Distance to the segment (14,50)-(50,14) in logo units.
                let px = (Double(x) + 0.5) / s, py = (Double(y) + 0.5) / s
                let t = max(0, min(1, ((px - 14) * 36 + (py - 50) * -36) / (2 * 36 * 36)))
                let dx = px - (14 + 36 * t), dy = py - (50 - 36 * t)
                let stroke = (dx * dx + dy * dy).squareRoot() <= 4.5
                let rgb: [UInt8] = stroke ? [0xe6, 0x39, 0x46] : [0x1d, 0x35, 0x57]
                for c in 0..<3 { img.pixels[(y * size + x) * 3 + c] = rgb[c] }
            }
        }
        return img
    }
}
