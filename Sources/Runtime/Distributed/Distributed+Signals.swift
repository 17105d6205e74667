// Stopping a run under mpirun (docs/distributed.md, "Stopping a run"). mpirun answers Ctrl-C
// (SIGINT to mpirun) and the death of a process the same way: SIGCONT to every process, SIGTERM
// odls_base_sigkill_timeout seconds later (default 1), SIGKILL as long again after that. The
// processes are in their own process groups, so a terminal's Ctrl-C reaches only mpirun.
// Under mpirun adv therefore handles SIGTERM (and SIGINT sent to a process directly) outside
// signal context: the handler writes the signal's number to a pipe that a thread reads:
//  - a process of this host has exited (killed): print "[rank r] error: lost a process: rank k
//    (pid p) has exited; ..." and exit at once with status 1 (no collective can complete; the
//    last checkpoint was only ever replaced atomically, so it is intact);
//  - otherwise it is a request to stop. Inside `fit` the request travels with the step's sums,
//    so every process stops after the same step, rank 0 writes the checkpoint and every process
//    exits with status 130; outside `fit` there is nothing to save and the process exits at
//    once with status 130. A second request while one is pending exits at once with 130.
import Engine
import Foundation
import Tensor

extension Distributed {
    /// Set by SIGTERM/SIGINT under mpirun: stop after the current training step.
    public private(set) nonisolated(unsafe) static var stopRequested = false
    /// Whether a data-parallel `fit` runs (it honours `stopRequested` between steps).
    nonisolated(unsafe) static var fitRunning = false
    /// The pipe from the signal handler to the thread that acts on it (write end).
    nonisolated(unsafe) static var signalWriteFD: Int32 = -1

    /// Installs the SIGTERM and SIGINT handling described above (under mpirun only).
    static func installStopHandlers() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        signalWriteFD = fds[1]
        let readFD = fds[0]
        for sig in [SIGTERM, SIGINT] {
            signal(sig) { s in
                var b = UInt8(truncatingIfNeeded: s)
                _ = Glibc.write(Distributed.signalWriteFD, &b, 1)  // async-signal-safe
            }
        }
        let reader = Thread {
            var b: UInt8 = 0
            while Glibc.read(readFD, &b, 1) == 1 { stopSignal(Int32(b) == SIGTERM ? "SIGTERM" : "SIGINT") }
        }
        reader.start()
    }

    /// The ranks of this host whose process has exited, as "rank k (pid p) has exited".
    static func lostPeers() -> [String] {
        (0..<ranks).compactMap { r in peerState(r) == "exited" ? "rank \(r) (pid \(peers[r].pid)) has exited" : nil }
    }

    /// What a SIGTERM or SIGINT does (see the file comment).
    static func stopSignal(_ name: String) {
        guard !exiting else { return }  // already reporting its error and ending
        let lost = lostPeers()
        if !lost.isEmpty {
            immediateExit("error: \(lostRanks(lost, "run (\(name) from mpirun)"))", status: 1)
        }
        if stopRequested || !fitRunning {
            immediateExit("interrupted (\(name))", status: 130)
        }
        stopRequested = true
    }

    /// Prints `message` with the rank prefix and ends the process without cleanup (another
    /// thread may be computing or waiting in MPI).
    static func immediateExit(_ message: String, status: Int32) -> Never {
        let line = prefix + message + "\n"
        _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
        _exit(status)
    }
}
