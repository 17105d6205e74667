// Writing to standard output and standard error without ever crashing (docs/reliability.md,
// "Broken output"): Foundation's FileHandle.write traps on any failed write. Here:
//  - a closed pipe on stdout (EPIPE: `adv f.adv | head -1`) ends the process quietly with
//    status 141 (128 + SIGPIPE), as Unix tools that die of SIGPIPE do;
//  - any other failure on stdout (a full disk, /dev/full, a closed descriptor) prints
//    "adv: error: cannot write to standard output: REASON" on stderr and exits with status 1;
//  - a failed write to stderr is ignored (there is nowhere left to report it).
// `Console.prepare()` runs first thing in `main`: it ignores SIGPIPE (so a closed pipe is an
// EPIPE error, not a silent kill in the middle of a checkpoint write) and puts /dev/null on a
// closed descriptor 0, 1 or 2 so that files the script opens never land on them (stdout is
// reopened read-only, so printing to it fails with EBADF and reports the error above).
import Foundation

public enum Console {
    /// Exit status for a closed output pipe (what a shell reports for a process killed by SIGPIPE).
    public static let brokenPipeStatus: Int32 = 141

    /// Called on a fatal stdout failure instead of `exit` (tests replace it).
    public nonisolated(unsafe) static var exitHandler: (Int32) -> Never = { exit($0) }

    /// Ignores SIGPIPE and reserves closed standard descriptors (see the file comment).
    public static func prepare() {
        signal(SIGPIPE, SIG_IGN)
        for fd: Int32 in [0, 1, 2] where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            // fd 0 reads as empty; fds 1 and 2 are read-only, so a write fails with EBADF.
            let opened = open("/dev/null", O_RDONLY)
            if opened >= 0 && opened != fd {
                dup2(opened, fd)
                close(opened)
            }
        }
    }

    /// Whether `warn` prints (false on the ranks other than 0 of an mpirun run, so a warning
    /// appears once, not once per process: docs/distributed.md).
    public nonisolated(unsafe) static var warningsShown = true

    /// Prints "warning: MESSAGE" on standard error (unless `warningsShown` is false).
    public static func warn(_ message: String) {
        if warningsShown { err("warning: \(message)\n") }
    }

    /// Writes `text` to standard output (exits as described above when that fails).
    public static func out(_ text: String) {
        if let errno_ = writeAll(1, Array(text.utf8)) {
            if errno_ == EPIPE { exitHandler(brokenPipeStatus) }
            err("adv: error: cannot write to standard output: \(String(cString: strerror(errno_)))\n")
            exitHandler(1)
        }
    }

    /// Writes `text` to standard error; failures are ignored.
    public static func err(_ text: String) {
        _ = writeAll(2, Array(text.utf8))
    }

    /// Writes every byte to `fd`, retrying after EINTR and partial writes.
    /// - Returns: nil on success, else the errno of the failure.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { raw in Foundation.write(fd, raw.baseAddress! + off, raw.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if n == 0 { return EIO }
            off += n
        }
        return nil
    }
}
