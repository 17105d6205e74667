// Multi-process runs under `mpirun` (SPMD: every process runs the whole script). MPI is
// initialised only when the process was launched by mpirun (Open MPI / PMIx environment), so a
// plain `adv FILE.adv` runs exactly as one process and needs no MPI daemon. Rank 0 owns the
// output: other ranks print nothing (except `print(..., all: true)`), show no progress and write
// no files through the builtins. See docs/distributed.md.
import CMPI
import Engine
import Foundation

public enum Distributed {
    /// This process's rank (0 without mpirun).
    public private(set) nonisolated(unsafe) static var rank = 0
    /// Number of processes (1 without mpirun).
    public private(set) nonisolated(unsafe) static var ranks = 1
    /// Whether MPI_Init was called (launched under mpirun).
    public private(set) nonisolated(unsafe) static var active = false

    /// Whether this process owns the output (rank 0).
    public static var isRoot: Bool { rank == 0 }
    /// Set once the process is ending (a late SIGTERM from mpirun then changes nothing).
    nonisolated(unsafe) static var exiting = false

    /// Whether the environment says mpirun launched this process: Open MPI sets
    /// OMPI_COMM_WORLD_SIZE, PMIx launchers PMIX_RANK. The variable is read before MPI_Init so
    /// a plain run never touches MPI.
    static func launchedByMPI(_ env: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil
    }

    /// Initialises MPI when launched under mpirun and routes output to rank 0. Call once at
    /// start-up, before any script runs.
    public static func start() {
        guard !active, launchedByMPI() else { return }
        guard MPI_Init(nil, nil) == adv_mpi_success() else {
            Runner.printError("adv: error: MPI_Init failed (launched under mpirun, see docs/distributed.md)")
            exit(1)
        }
        var r: Int32 = 0, n: Int32 = 0
        MPI_Comm_rank(adv_mpi_comm_world(), &r)
        MPI_Comm_size(adv_mpi_comm_world(), &n)
        rank = Int(r); ranks = Int(n); active = true
        // Errors come back as return codes (reported with the rank) instead of ending the job silently.
        MPI_Comm_set_errhandler(adv_mpi_comm_world(), adv_mpi_errors_return())
        do { try exchangePeers() } catch {
            Runner.printError("adv: error: \(error)")
            finish(status: 1)
        }
        installStopHandlers()
        if !isRoot {
            Progress.write = { _ in }
            Evaluation.log = { _ in }
            AtomicFile.writes = false
            Console.warningsShown = false
        }
    }

    /// Ends the run with `status`. Under MPI a failure aborts every process (MPI_Abort, so no
    /// rank waits forever in a collective); success finalizes MPI.
    public static func finish(status: Int32) -> Never {
        exiting = true
        if active {
            if status == 130 {
                // Every process stopped at the same step (or mpirun is ending the job): leave
                // without MPI_Abort's banner and without exit()'s cleanup, which could meet
                // MPI's threads mid-teardown (output is written unbuffered); no collective follows.
                _exit(status)
            }
            if status != 0 && !lostPeers().isEmpty {
                // A process is gone and mpirun is ending the job already: leave with this
                // status (MPI_Abort would leave it to mpirun's SIGKILL).
                _exit(status)
            }
            if status != 0 {
                MPI_Abort(adv_mpi_comm_world(), status)
            } else {
                MPI_Finalize()
            }
        }
        exit(status)
    }

    /// The prefix of a line printed by every rank or of a diagnostic: "[rank r] " under MPI.
    static var prefix: String { active ? "[rank \(rank)] " : "" }

    /// Waits until every process reaches the barrier.
    static func barrier() throws {
        guard active else { return }
        var request: MPI_Request?
        try check(MPI_Ibarrier(adv_mpi_comm_world(), &request), "barrier")
        try wait(&request, "barrier")
    }

    /// The collective data-parallel `fit` uses (nil on one process).
    public static var collective: Collective? { active && ranks > 1 ? MPICollective() : nil }

    /// The element-wise sum of `values` over all processes (each process gives the same count).
    static func sum(_ values: [Int]) throws -> [Int] {
        guard active, ranks > 1, !values.isEmpty else { return values }
        let send = values.map { Int64($0) }
        var recv = send
        try recv.withUnsafeMutableBytes { r in
            try allreduce(r.baseAddress!, count: send.count, type: adv_mpi_int64(), "allreduce of the counts")
        }
        return recv.map { Int($0) }
    }

    static func check(_ rc: Int32, _ what: String) throws {
        guard rc == adv_mpi_success() else {
            throw RuntimeError.message("MPI \(what) failed on rank \(rank) (MPI error \(rc))")
        }
    }
}
