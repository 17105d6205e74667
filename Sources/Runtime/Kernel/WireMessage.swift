// One Jupyter message on the wire (messaging protocol 5.3, docs/notebooks.md): routing
// identities, the "<IDS|MSG>" delimiter, the HMAC signature, then four JSON frames (header,
// parent header, metadata, content) and optional binary buffers.
import Foundation

typealias JSON = [String: Any]

/// A decoded message.
struct WireMessage {
    var identities: [[UInt8]]
    var header: JSON
    var parent: JSON
    var metadata: JSON
    var content: JSON

    var type: String { header["msg_type"] as? String ?? "" }

    static let delimiter = Array("<IDS|MSG>".utf8)
    static let protocolVersion = "5.3"

    /// Why a message was rejected (logged; the kernel goes on).
    struct Rejected: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }

    /// Decodes the frames of one message, checking its signature.
    /// - Throws: `Rejected` for a missing delimiter, a bad signature or a frame that is not a JSON object.
    static func decode(_ frames: [[UInt8]], signer: MessageSigner) throws -> WireMessage {
        guard let d = frames.firstIndex(of: delimiter) else { throw Rejected(reason: "no <IDS|MSG> delimiter") }
        guard frames.count >= d + 6 else { throw Rejected(reason: "\(frames.count - d - 1) frames after the delimiter, need 5") }
        let parts = Array(frames[(d + 2)...(d + 5)])
        guard signer.verify(frames[d + 1], parts) else { throw Rejected(reason: "bad signature") }
        func object(_ i: Int, _ name: String) throws -> JSON {
            guard let o = try? JSONSerialization.jsonObject(with: Data(parts[i])), let j = o as? JSON else {
                throw Rejected(reason: "\(name) is not a JSON object")
            }
            return j
        }
        let header = try object(0, "header")
        guard header["msg_type"] is String else { throw Rejected(reason: "header has no msg_type") }
        return WireMessage(identities: Array(frames[..<d]), header: header, parent: try object(1, "parent header"),
                           metadata: try object(2, "metadata"), content: try object(3, "content"))
    }

    /// A new message of `type` answering `parent` (its header becomes the parent header).
    static func reply(_ type: String, to parent: WireMessage?, content: JSON, session: String,
                      identities: [[UInt8]]? = nil) -> WireMessage {
        let header: JSON = [
            "msg_id": UUID().uuidString.lowercased(),
            "session": session,
            "username": "adv",
            "date": iso8601.string(from: Date()),
            "msg_type": type,
            "version": protocolVersion,
        ]
        return WireMessage(identities: identities ?? parent?.identities ?? [], header: header,
                           parent: parent?.header ?? [:], metadata: [:], content: content)
    }

    /// The frames to send, signed.
    func encode(signer: MessageSigner) -> [[UInt8]] {
        let parts = [header, parent, metadata, content].map { WireMessage.json($0) }
        return identities + [WireMessage.delimiter, Array(signer.sign(parts).utf8)] + parts
    }

    static func json(_ o: JSON) -> [UInt8] {
        (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])).map(Array.init) ?? Array("{}".utf8)
    }

    nonisolated(unsafe) static let iso8601: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()
}
