// A ZeroMQ socket of one kernel channel (shell, control, iopub, stdin, heartbeat): bind,
// multipart receive and send. One thread uses a socket, except iopub, whose sends are locked
// (docs/notebooks.md, "How the kernel works").
import CZMQ
import Foundation

/// One bound ZeroMQ socket.
final class Socket {
    let raw: UnsafeMutableRawPointer
    let name: String
    private let lock = NSLock()

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Creates a socket of `type` (ZMQ_ROUTER, ZMQ_PUB, ZMQ_REP) bound to `endpoint`.
    init(context: UnsafeMutableRawPointer, type: Int32, endpoint: String, name: String) throws {
        guard let s = zmq_socket(context, type) else { throw Failure(description: "\(name): cannot create socket: \(Socket.lastError)") }
        var linger: Int32 = 1000
        _ = zmq_setsockopt(s, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size)
        guard zmq_bind(s, endpoint) == 0 else {
            let why = Socket.lastError
            zmq_close(s)
            throw Failure(description: "\(name): cannot bind \(endpoint): \(why)")
        }
        raw = s
        self.name = name
    }

    static var lastError: String { String(cString: zmq_strerror(zmq_errno())) }

    /// Receives one multipart message (retrying when a signal interrupts the wait).
    /// - Returns: nil when the context was terminated.
    func receive() -> [[UInt8]]? {
        var frames: [[UInt8]] = []
        while true {
            var msg = zmq_msg_t()
            zmq_msg_init(&msg)
            defer { zmq_msg_close(&msg) }
            if zmq_msg_recv(&msg, raw, 0) < 0 {
                if zmq_errno() == EINTR { continue }
                return nil
            }
            let n = zmq_msg_size(&msg)
            let p = zmq_msg_data(&msg)!.assumingMemoryBound(to: UInt8.self)
            frames.append(Array(UnsafeBufferPointer(start: p, count: n)))
            if zmq_msg_more(&msg) == 0 { return frames }
        }
    }

    /// Sends the frames of one multipart message.
    func send(_ frames: [[UInt8]]) {
        lock.lock()
        defer { lock.unlock() }
        for (i, f) in frames.enumerated() {
            let flags: Int32 = i < frames.count - 1 ? ZMQ_SNDMORE : 0
            while f.withUnsafeBytes({ zmq_send(raw, $0.baseAddress, f.count, flags) }) < 0 {
                if zmq_errno() != EINTR { return }
            }
        }
    }

    /// Echoes every message back until the context ends: the heartbeat, on its own thread.
    func echoForever() {
        while let frames = receive() { send(frames) }
    }

    func close() { zmq_close(raw) }
}
