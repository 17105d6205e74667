// Resumable evaluation: the running counts are saved atomically to a JSON state file every few
// batches; rerunning the same evaluation with the same path continues after the last saved batch.
import Foundation
import Tensor

struct EvalState: Codable {
    var version = 1
    /// Identifies the evaluation (model, weights checksum, data, attacks, batch, limit).
    var key: String
    /// Seed from which each batch's RNG is derived.
    var seed: UInt64
    /// Index of the next image to evaluate.
    var next: Int
    var clean: Int
    var robust: Int
    var perAttack: [Int]
    var seconds: Double
    var warnings: [String]
    var sanityDone: Bool
    /// Clean top-5 hits so far (absent in states written before it existed).
    var top5: Int? = nil
    /// Per-example outcomes so far, when the evaluation keeps them.
    var examples: Examples? = nil
    /// A pooled ensemble evaluation's per-image flags and progress (PooledEvaluation.swift).
    var pooled: Pooled? = nil

    struct Examples: Codable {
        var labels: [Int] = []
        var clean: [Bool] = []
        var robust: [Bool] = []
        var brokenBy: [String] = []
        var top5: [Bool] = []
    }

    static func load(_ path: String) throws -> EvalState? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError.io("evaluate: cannot read the state file \(path): \(FileContents.explain(path))")
        }
        do {
            return try JSONDecoder().decode(EvalState.self, from: data)
        } catch {
            throw EngineError.io("evaluate: state file \(path) is not a valid evaluation state (\(error)); delete it to start over")
        }
    }

    func save(_ path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try enc.encode(self), to: path)
    }
}
