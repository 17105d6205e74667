// adv-bench: kernel and model benchmarks (`make bench`). Results go to BENCHMARKS.md by hand.
//
// Usage: AdvBench [section...] [--budget seconds]   (default: every section but the users'-view
// workers `peaks` and `step224`, which benchmarks/users_view.py runs one per process)
import Engine
import Tensor
import Foundation

/// Every section, in order. Add yours here.
let allSections: [BenchSection] = [KernelBench(), ModelBench(), ModelMemoryBench(), TrainBench(), DataBench(), AttackBench(),
                                   PeaksBench(), CoreLatencyBench(), Step224Bench()]

var wanted: [String] = []
let ctx = BenchContext()
var argv = Array(CommandLine.arguments.dropFirst())
while let a = argv.first {
    argv.removeFirst()
    if a == "--budget", let v = argv.first, let d = Double(v) { ctx.budget = d; argv.removeFirst() } else { wanted.append(a) }
}
let unknown = wanted.filter { w in !allSections.contains { $0.name == w } }
if !unknown.isEmpty {
    FileHandle.standardError.write(Data("AdvBench: unknown section(s) \(unknown.joined(separator: ", ")); sections: \(allSections.map { $0.name }.joined(separator: ", "))\n".utf8))
    exit(2)
}
let t0 = Bench.now()
print("AdvBench  threads: \(Parallel.threads)  load average: \(Bench.loadAverage() ?? "?")  date: \(ISO8601DateFormatter().string(from: Date()))")
// The users'-view workers (UsersBench.swift) run only when named: benchmarks/users_view.py drives them.
let namedOnly: Set<String> = ["peaks", "corelat", "step224"]
for s in allSections where wanted.isEmpty ? !namedOnly.contains(s.name) : wanted.contains(s.name) {
    do {
        try s.run(ctx)
    } catch {
        print("section \(s.name) failed: \(error)")
    }
}
print("total \(fmt(Bench.now() - t0)) s; load average after: \(Bench.loadAverage() ?? "?")")
