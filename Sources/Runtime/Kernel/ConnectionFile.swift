// The connection file Jupyter writes for a kernel it starts: transport, address, the five
// ports and the signing key (docs/notebooks.md, "How the kernel works").
import Foundation

/// A parsed Jupyter connection file.
public struct ConnectionFile {
    public var transport: String
    public var ip: String
    public var key: String
    public var signatureScheme: String
    public var shellPort: Int
    public var iopubPort: Int
    public var stdinPort: Int
    public var controlPort: Int
    public var hbPort: Int

    /// Why a connection file cannot be used; `description` names the file and the reason.
    public struct Invalid: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "adv kernel: error: connection file \(path): \(reason)" }
    }

    /// Reads and checks the file at `path`.
    /// - Throws: `Invalid` when it is missing, not JSON, lacks a port, or asks for a scheme
    ///   other than hmac-sha256.
    public static func load(path: String) throws -> ConnectionFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            let why = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            throw Invalid(path: path, reason: why)
        }
        guard let obj = try? JSONSerialization.jsonObject(with: data), let d = obj as? [String: Any] else {
            throw Invalid(path: path, reason: "is not a JSON object")
        }
        return try parse(d, path: path)
    }

    /// Builds a connection from the decoded JSON object of the file at `path`.
    static func parse(_ d: [String: Any], path: String) throws -> ConnectionFile {
        func port(_ name: String) throws -> Int {
            guard let n = d[name] as? Int, (1...65535).contains(n) else {
                throw Invalid(path: path, reason: "'\(name)' must be a port number (1-65535)")
            }
            return n
        }
        let transport = d["transport"] as? String ?? "tcp"
        guard ["tcp", "ipc"].contains(transport) else {
            throw Invalid(path: path, reason: "unsupported transport '\(transport)' (tcp or ipc)")
        }
        let scheme = d["signature_scheme"] as? String ?? "hmac-sha256"
        guard scheme == "hmac-sha256" else {
            throw Invalid(path: path, reason: "unsupported signature_scheme '\(scheme)' (hmac-sha256)")
        }
        guard let ip = d["ip"] as? String, !ip.isEmpty else { throw Invalid(path: path, reason: "'ip' is missing") }
        guard let key = d["key"] as? String else { throw Invalid(path: path, reason: "'key' is missing") }
        return ConnectionFile(transport: transport, ip: ip, key: key, signatureScheme: scheme,
                              shellPort: try port("shell_port"), iopubPort: try port("iopub_port"),
                              stdinPort: try port("stdin_port"), controlPort: try port("control_port"),
                              hbPort: try port("hb_port"))
    }

    /// The ZeroMQ endpoint of a port: tcp://IP:PORT, or ipc://IP-PORT for the ipc transport.
    func endpoint(_ port: Int) -> String {
        transport == "ipc" ? "ipc://\(ip)-\(port)" : "tcp://\(ip):\(port)"
    }
}
