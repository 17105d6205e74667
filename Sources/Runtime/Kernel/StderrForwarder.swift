// Standard error of a running cell, in the notebook (docs/notebooks.md, "Progress and warnings").
// Builtins and the engine write warnings and notes straight to file descriptor 2 (Console.err,
// fputs(stderr), C code). While a cell runs, fd 2 is the write end of a pipe whose reader thread
// sends what arrives as stderr stream messages of that cell; when the cell ends, fd 2 is restored
// and the reader drains the pipe before the reply goes out, so nothing the cell wrote arrives
// after the kernel reported idle. The kernel's own log (rejected messages) keeps the original
// stderr through `log`.
import Engine
import Foundation

/// Forwards fd 2 to a sink while a body runs.
final class StderrForwarder {
    /// A duplicate of the original standard error: the kernel's log.
    let logFD: Int32

    init() {
        let fd = dup(2)
        logFD = fd >= 0 ? fd : 2
    }

    /// Writes a line to the kernel's log (the terminal or file the kernel was started with).
    func log(_ text: String) {
        _ = Console.writeAll(logFD, Array((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }

    /// Runs `body` with fd 2 going to `sink` (called on a reader thread, with whole UTF-8 text);
    /// returns after everything written has reached the sink (or after 5 s, if something else
    /// still holds the pipe open).
    func capture<T>(into sink: @escaping (String) -> Void, _ body: () -> T) -> T {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return body() }
        fflush(stderr)
        let saved = dup(2)
        guard saved >= 0, dup2(fds[1], 2) >= 0 else {
            close(fds[0]); close(fds[1])
            if saved >= 0 { close(saved) }
            return body()
        }
        close(fds[1])
        let drained = DispatchSemaphore(value: 0)
        let readEnd = fds[0]
        let reader = Thread {
            StderrForwarder.pump(readEnd, into: sink)
            close(readEnd)
            drained.signal()
        }
        reader.name = "adv-stderr"
        reader.start()
        let result = body()
        fflush(stderr)
        dup2(saved, 2)   // closes the pipe's last write end: the reader sees end of file
        close(saved)
        _ = drained.wait(timeout: .now() + 5)
        return result
    }

    /// Reads `fd` to end of file, passing text on as it arrives; a UTF-8 sequence split between
    /// two reads is held back until it is whole.
    static func pump(_ fd: Int32, into sink: (String) -> Void) {
        var buf = [UInt8](repeating: 0, count: 65536)
        var pending: [UInt8] = []
        while true {
            let n = read(fd, &buf, buf.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            pending.append(contentsOf: buf[0..<n])
            let cut = completePrefix(pending)
            if cut > 0 {
                sink(String(decoding: pending[0..<cut], as: UTF8.self))
                pending.removeFirst(cut)
            }
        }
        if !pending.isEmpty { sink(String(decoding: pending, as: UTF8.self)) }
    }

    /// The length of the longest prefix of `bytes` that does not end inside a UTF-8 sequence.
    static func completePrefix(_ bytes: [UInt8]) -> Int {
        var i = bytes.count - 1
        var back = 0
        while i >= 0 && back < 4 {
            let b = bytes[i]
            if b & 0xC0 != 0x80 {   // a lead byte (or ASCII)
                let need = b < 0x80 ? 1 : (b >= 0xF0 ? 4 : (b >= 0xE0 ? 3 : 2))
                return back + 1 >= need ? bytes.count : i
            }
            i -= 1
            back += 1
        }
        return bytes.count
    }
}
