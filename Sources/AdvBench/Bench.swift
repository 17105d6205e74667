// Benchmark infrastructure: sections, timing and table printing for `make bench`.
//
// Add a section: write `struct MyBench: BenchSection` in its own file (e.g. ModelBench.swift)
// and append it to `allSections` in main.swift.
import Foundation

/// One titled group of measurements printed as a table.
protocol BenchSection {
    /// Short name used on the command line (`AdvBench kernels`).
    var name: String { get }
    /// Runs the measurements and prints their table(s).
    func run(_ ctx: BenchContext) throws
}

/// What sections share: reference numbers measured once per run, and the time budget.
final class BenchContext {
    /// Best sgemm GFLOP/s measured in this run (the compute reference).
    var sgemmPeak: Double = 0
    /// Best copy bandwidth in GB/s (bytes read + written) measured in this run.
    var bandwidth: Double = 0
    /// Seconds each measurement may spend repeating itself.
    var budget: Double = 0.25
}

enum Bench {
    /// Monotonic seconds.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// The best (minimum) time of `body` over repeats: one warm-up, then until `budget` seconds
    /// have passed (at least 2 and at most 50 timed runs).
    static func time(budget: Double, _ body: () throws -> Void) rethrows -> Double {
        try body()
        var best = Double.infinity
        let start = now()
        var runs = 0
        while runs < 2 || (now() - start < budget && runs < 50) {
            let t0 = now()
            try body()
            best = Swift.min(best, now() - t0)
            runs += 1
        }
        return best
    }

    /// The load average over the last minute (from /proc/loadavg), or nil.
    static func loadAverage() -> String? {
        guard let s = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return s.split(separator: " ").prefix(3).joined(separator: " ")
    }
}

/// A plain-text table printed in Markdown form (so it pastes into BENCHMARKS.md unchanged).
struct Table {
    let columns: [String]
    var rows: [[String]] = []

    init(_ columns: [String]) { self.columns = columns }

    mutating func add(_ row: [String]) { rows.append(row) }

    func render() -> String {
        var widths = columns.map { $0.count }
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = Swift.max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            "| " + cells.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: " | ") + " |"
        }
        var out = [line(columns), "|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|"]
        for r in rows { out.append(line(r + Array(repeating: "", count: Swift.max(0, columns.count - r.count)))) }
        return out.joined(separator: "\n")
    }
}

/// Number formatting for tables.
func fmt(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
func pct(_ x: Double) -> String { String(format: "%.0f%%", x * 100) }
