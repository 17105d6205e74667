// HMAC-SHA256 signatures of Jupyter messages through OpenSSL (docs/notebooks.md): the hex digest
// of header, parent header, metadata and content with the connection file's key. An empty key
// turns signing off, as the protocol says.
import COpenSSL
import Foundation

/// Signs and checks message signatures.
struct MessageSigner {
    let key: [UInt8]

    init(key: String) { self.key = Array(key.utf8) }

    /// The hex signature of `parts` (empty when the key is empty).
    func sign(_ parts: [[UInt8]]) -> String {
        guard !key.isEmpty else { return "" }
        var data: [UInt8] = []
        for p in parts { data += p }
        var md = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        _ = key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress, d.count, &md, &len)
            }
        }
        return md.prefix(Int(len)).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `signature` is the signature of `parts` (compared in constant time).
    func verify(_ signature: [UInt8], _ parts: [[UInt8]]) -> Bool {
        guard !key.isEmpty else { return true }
        let expected = Array(sign(parts).utf8)
        guard signature.count == expected.count else { return false }
        return CRYPTO_memcmp(signature, expected, expected.count) == 0
    }
}
