import Foundation
import XCTest
import FuzzKit

/// The CI slice of the fuzz campaign (docs/reliability.md, "Fuzzing"): every corpus file runs
/// unmutated, then a few thousand seeded mutations per target; nothing may crash. The long
/// campaign runs the same targets through the AdvFuzz executable under AddressSanitizer.
/// ADV_FUZZ_SLICE=N sets the number of mutated inputs per target.
final class FuzzSliceTests: XCTestCase {
    static let counts: [String: Int] = ["lang": 3000, "safetensors": 3000, "idx": 800, "cifar": 400, "npy": 3000,
                                        "png": 2000, "jpeg": 2000, "checkpoint": 400]

    var corpusDir: String {
        get throws {
            guard let u = Bundle.module.url(forResource: "Corpus", withExtension: nil) else {
                throw NSError(domain: "Fuzz", code: 1, userInfo: [NSLocalizedDescriptionKey: "Corpus resource missing"])
            }
            return u.path
        }
    }

    func slice(_ name: String) throws {
        let scratch = NSTemporaryDirectory() + "/adv-fuzz-slice-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let target = try FuzzTargets.make(name, scratch: scratch)
        let corpus = Campaign.corpus(try corpusDir + "/" + name)
        let n = ProcessInfo.processInfo.environment["ADV_FUZZ_SLICE"].flatMap { Int($0) } ?? Self.counts[name] ?? 1000
        let stats = try Campaign.run(target, count: n + corpus.count, seed: 20261206, corpus: corpus)
        XCTAssertEqual(stats.inputs, n + corpus.count)
        // Some inputs must get through, or the mutations never reach past the first check.
        XCTAssertGreaterThan(stats.accepted, 0, "\(name): \(stats)")
        XCTAssertGreaterThan(stats.refused, 0, "\(name): \(stats)")
        XCTAssertLessThan(stats.slowest, 5, "\(name): one input took \(stats.slowest) s")
    }

    func testLang() throws { try slice("lang") }
    func testSafetensors() throws { try slice("safetensors") }
    func testIDX() throws { try slice("idx") }
    func testCIFAR() throws { try slice("cifar") }
    func testNPY() throws { try slice("npy") }
    func testPNG() throws { try slice("png") }
    func testJPEG() throws { try slice("jpeg") }
    func testCheckpoint() throws { try slice("checkpoint") }
}
