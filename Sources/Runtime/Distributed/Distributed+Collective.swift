// The MPI side of data-parallel training and of every collective adv calls (docs/distributed.md):
// nonblocking MPI operations polled against a deadline, so a rank that died or hangs is
// noticed instead of waiting forever. While it waits, a rank checks every second whether the
// other ranks on its host are still alive (their pids were exchanged at start); a rank that
// exited or was killed is reported at once, by rank. After ADV_MPI_TIMEOUT seconds (default
// 600) without completion the wait ends with an error naming the ranks that are stopped, or all
// the others when none can be checked. The error ends the run (Distributed.finish: MPI_Abort).
import CMPI
import Engine
import Foundation
import Tensor

extension Distributed {
    /// Seconds a collective may wait for the other ranks (ADV_MPI_TIMEOUT, default 600).
    nonisolated(unsafe) static var timeout: Double = {
        ProcessInfo.processInfo.environment["ADV_MPI_TIMEOUT"].flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil } ?? 600
    }()
    /// Each rank's process id and host name (exchanged by `exchangePeers` at start).
    nonisolated(unsafe) static var peers: [(pid: Int32, host: String)] = []

    /// Exchanges every rank's pid and host name (at start, so a lost rank can be named).
    static func exchangePeers() throws {
        var mine = [CChar](repeating: 0, count: 72)
        mine.withUnsafeMutableBytes { b in
            let pid = getpid()
            withUnsafeBytes(of: pid) { b.copyMemory(from: $0) }
            _ = gethostname(b.baseAddress!.assumingMemoryBound(to: CChar.self) + 8, 63)
        }
        var all = [CChar](repeating: 0, count: 72 * ranks)
        let rc = mine.withUnsafeBufferPointer { s in
            all.withUnsafeMutableBufferPointer { r in
                MPI_Allgather(s.baseAddress, 72, adv_mpi_char(), r.baseAddress, 72, adv_mpi_char(), adv_mpi_comm_world())
            }
        }
        try check(rc, "exchange of process ids")
        peers = (0..<ranks).map { r in
            all.withUnsafeBytes { b in
                let pid = b.load(fromByteOffset: 72 * r, as: Int32.self)
                let host = String(cString: Array(all[(72 * r + 8)..<(72 * r + 71)]) + [0])
                return (pid, host)
            }
        }
    }

    /// What is known of rank `r` from this host: "exited", "stopped" or nil (alive or elsewhere).
    static func peerState(_ r: Int) -> String? {
        guard r != rank, r < peers.count, peers[r].host == peers[rank].host else { return nil }
        let pid = peers[r].pid
        if kill(pid, 0) != 0 && errno == ESRCH { return "exited" }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
        switch state {
        case "Z", "X": return "exited"
        case "T", "t": return "stopped"
        default: return nil
        }
    }

    /// Waits for `request` until it completes; throws naming the lost ranks when one on this
    /// host exited, or at the deadline.
    static func wait(_ request: inout MPI_Request?, _ what: String) throws {
        let start = Date()
        var lastCheck = start, spins = 0
        while true {
            var done: Int32 = 0
            try check(MPI_Test(&request, &done, adv_mpi_status_ignore()), what)
            if done != 0 { return }
            spins += 1
            if spins > 1000 { usleep(spins > 20000 ? 1000 : 50) }
            let now = Date()
            guard now.timeIntervalSince(lastCheck) >= 1 else { continue }
            lastCheck = now
            let lost = (0..<ranks).compactMap { r in peerState(r).flatMap { $0 == "exited" ? "rank \(r) (pid \(peers[r].pid)) has exited" : nil } }
            if !lost.isEmpty { throw lostRanks(lost, what) }
            if now.timeIntervalSince(start) >= timeout {
                let stopped = (0..<ranks).compactMap { r in peerState(r).map { "rank \(r) (pid \(peers[r].pid)) is \($0)" } }
                let others = (0..<ranks).filter { $0 != rank }.map(String.init).joined(separator: ", ")
                throw lostRanks(stopped.isEmpty ? ["no answer from rank \(others) (on another host, or hung)"] : stopped,
                                what + " after \(Int(timeout)) s (ADV_MPI_TIMEOUT)")
            }
        }
    }

    static func lostRanks(_ lost: [String], _ what: String) -> RuntimeError {
        .message("lost a process: \(lost.joined(separator: "; ")); stopping in the \(what) (the last checkpoint written is intact)")
    }

    /// Element-wise sum over the ranks, in place, with the deadline.
    static func allreduce(_ data: UnsafeMutableRawPointer, count: Int, type: MPI_Datatype, _ what: String) throws {
        var request: MPI_Request?
        try check(MPI_Iallreduce(adv_mpi_in_place(), data, Int32(count), type, adv_mpi_sum(), adv_mpi_comm_world(), &request), what)
        try wait(&request, what)
    }
}

/// `Collective` over MPI_COMM_WORLD for data-parallel `fit` (Engine's protocol).
final class MPICollective: Collective {
    var rank: Int { Distributed.rank }
    var size: Int { Distributed.ranks }

    func sum(_ data: UnsafeMutablePointer<Float>, count: Int) throws {
        // MPI counts are 32-bit: large buffers go in pieces.
        var offset = 0
        while offset < count {
            let n = min(count - offset, 1 << 30)
            try Distributed.allreduce(data + offset, count: n, type: adv_mpi_float(), "gradient allreduce")
            offset += n
        }
    }

    func startSum(_ data: UnsafeMutablePointer<Float>, count: Int) throws -> CollectiveRequest {
        let request = MPIRequest("gradient allreduce")
        var offset = 0
        while offset < count {
            let n = min(count - offset, 1 << 30)
            var r: MPI_Request?
            try Distributed.check(MPI_Iallreduce(adv_mpi_in_place(), data + offset, Int32(n), adv_mpi_float(), adv_mpi_sum(),
                                                 adv_mpi_comm_world(), &r), request.what)
            request.pending.append(r)
            offset += n
        }
        return request
    }

    func sum(_ data: UnsafeMutablePointer<Double>, count: Int) throws {
        try Distributed.allreduce(data, count: count, type: adv_mpi_double(), "allreduce")
    }

    func broadcast(_ data: UnsafeMutablePointer<Float>, count: Int) throws {
        var offset = 0
        while offset < count {
            let n = min(count - offset, 1 << 30)
            var request: MPI_Request?
            try Distributed.check(MPI_Ibcast(data + offset, Int32(n), adv_mpi_float(), 0, adv_mpi_comm_world(), &request), "broadcast")
            try Distributed.wait(&request, "broadcast of the weights")
            offset += n
        }
    }
}

/// Nonblocking MPI operations in flight (one per piece of at most 2^30 elements).
final class MPIRequest: CollectiveRequest {
    let what: String
    /// The requests not known to be complete.
    var pending: [MPI_Request?] = []
    init(_ what: String) { self.what = what }

    func test() throws -> Bool {
        while var r = pending.first {
            var done: Int32 = 0
            try Distributed.check(MPI_Test(&r, &done, adv_mpi_status_ignore()), what)
            guard done != 0 else { pending[0] = r; return false }
            pending.removeFirst()
        }
        return true
    }

    func wait() throws {
        while var r = pending.first {
            try Distributed.wait(&r, what)
            pending.removeFirst()
        }
    }
}
