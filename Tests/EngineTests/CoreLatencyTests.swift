// CoreLatency (Tensor/Backend/CoreLatency.swift, CKernels/corelatency.c): the core-to-core round trip
// probe the benchmarks print beside their results.
import XCTest
import Foundation
@testable import Tensor

final class CoreLatencyTests: XCTestCase {
    /// On a Linux machine with two CPUs the probe gives a round trip that a cache line can take:
    /// above 5 ns (a bounce that never left the core would be faster) and below 100 us.
    func testRoundTripIsPlausibleWithTwoCPUs() throws {
        #if os(Linux)
        try XCTSkipIf(ProcessInfo.processInfo.activeProcessorCount < 2, "needs two CPUs")
        // A loaded machine may keep CPU 1 busy past the budget: try a few times.
        var ns: Double?
        for _ in 0..<5 where ns == nil { ns = CoreLatency.roundTrip(0, 1, rounds: 500, budget: 0.5) }
        let v = try XCTUnwrap(ns, "CPU 1 stayed busy in every try")
        XCTAssertGreaterThan(v, 5)
        XCTAssertLessThan(v, 100_000)
        #endif
    }

    /// Arguments that name no pair of CPUs give nil, and the caller's CPU mask is restored.
    func testInvalidPairsAndMaskRestored() {
        XCTAssertNil(CoreLatency.roundTrip(0, 0))
        XCTAssertNil(CoreLatency.roundTrip(-1, 1))
        XCTAssertNil(CoreLatency.roundTrip(0, 1, rounds: 0))
        XCTAssertNil(CoreLatency.roundTrip(0, 4096, rounds: 10, budget: 0.1))
        #if os(Linux)
        // This thread's CPU mask as the kernel reports it (sched_getaffinity is not visible from Swift).
        func mask() -> String? {
            let status = try? String(contentsOfFile: "/proc/thread-self/status", encoding: .utf8)
            return status?.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }.map(String.init)
        }
        let before = mask()
        XCTAssertNotNil(before)
        _ = CoreLatency.roundTrip(0, 1, rounds: 100, budget: 0.1)
        XCTAssertEqual(mask(), before)
        #endif
    }
}
