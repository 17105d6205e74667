// Builtins: multi-process runs under mpirun (rank, ranks, barrier). See docs/distributed.md and
// Distributed/Distributed.swift; `print(..., all: true)` is in Core+Builtins.swift.

enum DistributedBuiltins {
    static func register(into t: inout BuiltinTable) {
        t.add("rank", "rank()",
              doc: """
                  This process's rank, 0 to ranks() - 1, in a run started with `mpirun -np N adv FILE.adv`;
                  0 without mpirun. Rank 0 prints, shows progress and writes files.
                  """) { _, _ in
            .number(Double(Distributed.rank))
        }
        t.add("ranks", "ranks()",
              doc: """
                  The number of processes running the script (`mpirun -np N`: N); 1 without mpirun.
                  """) { _, _ in
            .number(Double(Distributed.ranks))
        }
        t.add("barrier", "barrier()",
              doc: """
                  Waits until every process of an mpirun run reaches this call (e.g. before other ranks
                  read a file rank 0 wrote). Does nothing on one process.
                  """) { _, _ in
            try Distributed.barrier()
            return .nil_
        }
    }
}
