// Training checkpoints: one safetensors file holding everything needed to continue a run to
// bit-identical weights: the model's parameters and buffers (timm names, float32), the optimizer
// state ("optim.*"), the EMA weights ("ema.*"), and in the metadata the schedule position,
// epoch/batch, the RNG states, the fp16 loss scale and the seed. Written atomically.
import Foundation
import Tensor

/// Where a run stands: everything besides tensors that a resumed run needs.
public struct TrainingPosition: Equatable {
    /// Epoch in progress (0-based).
    public var epoch = 0
    /// Mini-batches of `epoch` already consumed.
    public var batchInEpoch = 0
    /// Optimizer steps taken (the schedule's position).
    public var globalStep = 0
    /// Total epochs of the run (the schedule depends on it).
    public var epochs = 0
    /// Seed of the data pipeline and of the attack's generator.
    public var seed: UInt64 = 0
    /// State of the attack's random generator.
    public var attackRNG: [UInt64] = []
    /// State of `RNG.global` (models draw drop-path masks from it).
    public var globalRNG: [UInt64] = []
    /// fp16 loss scaling.
    public var lossScaler = LossScaler()
    /// Consecutive skipped steps (NaN/inf).
    public var badSteps = 0
    /// The last epoch's loss, clean and adversarial accuracy (fractions) of a finished run,
    /// returned when such a run is resumed (nothing is left to train).
    public var finalLoss: Double? = nil
    public var finalClean: Double? = nil
    public var finalAdv: Double? = nil
    /// What identifies the experiment (recipe, data, attack, model) as (field, value) pairs in a
    /// fixed order; a resumed run must match it (`Checkpoint.load(expect:)`).
    public var experiment: [(String, String)] = []
    public init() {}

    public static func == (a: TrainingPosition, b: TrainingPosition) -> Bool {
        a.epoch == b.epoch && a.batchInEpoch == b.batchInEpoch && a.globalStep == b.globalStep && a.epochs == b.epochs
            && a.seed == b.seed && a.attackRNG == b.attackRNG && a.globalRNG == b.globalRNG && a.lossScaler == b.lossScaler
            && a.badSteps == b.badSteps && a.finalLoss == b.finalLoss && a.finalClean == b.finalClean && a.finalAdv == b.finalAdv
            && a.experiment.map { [$0.0, $0.1] } == b.experiment.map { [$0.0, $0.1] }
    }
}

public enum Checkpoint {
    static let format = "adv-train-checkpoint-1"

    /// Writes a checkpoint atomically.
    /// - Parameters:
    ///   - path: destination file (its folder must exist).
    ///   - model: the model being trained.
    ///   - optimizer: its optimizer.
    ///   - ema: the weight average, if any.
    ///   - position: epoch, step, RNG states and the rest.
    ///   - recipe: recorded by name for the reader's information.
    public static func save(to path: String, model: Model, optimizer: Optimizer, ema: WeightEMA?,
                            position p: TrainingPosition, recipe: String = "") throws {
        var entries: [(name: String, tensor: Tensor, dtype: Safetensors.DType)] = []
        for t in model.parameters() + model.buffers() { entries.append((t.name, t.tensor, .f32)) }
        for t in optimizer.stateTensors() { entries.append(("optim.\(t.name)", t.tensor, .f32)) }
        if let e = ema { for t in e.shadow { entries.append(("ema.\(t.name)", t.tensor, .f32)) } }
        var meta: [String: String] = [
            "format": format,
            "model": model.name,
            "recipe": recipe,
            "optimizer": optimizer.name,
            "optimizer_steps": String(optimizer.stepCount),
            "epoch": String(p.epoch),
            "batch_in_epoch": String(p.batchInEpoch),
            "global_step": String(p.globalStep),
            "epochs": String(p.epochs),
            "seed": String(p.seed),
            "attack_rng": p.attackRNG.map(String.init).joined(separator: ","),
            "global_rng": p.globalRNG.map(String.init).joined(separator: ","),
            "loss_scale": "\(p.lossScaler.scale)",
            "loss_scale_clean_steps": String(p.lossScaler.cleanSteps),
            "loss_scale_growth": String(p.lossScaler.growthInterval),
            "bad_steps": String(p.badSteps),
            "ema": ema.map { "\($0.decay)" } ?? "",
            "experiment": encodeExperiment(p.experiment),
        ]
        let finals: [(String, Double?)] = [("final_loss", p.finalLoss), ("final_clean", p.finalClean), ("final_adv", p.finalAdv)]
        for (k, v) in finals { if let v = v { meta[k] = "\(v)" } }
        try Safetensors.write(entries, metadata: meta, to: path)
    }

    /// The experiment pairs as JSON ([[field, value], ...]).
    static func encodeExperiment(_ e: [(String, String)]) -> String {
        guard let d = try? JSONSerialization.data(withJSONObject: e.map { [$0.0, $0.1] }),
              let s = String(data: d, encoding: .utf8) else { return "[]" }
        return s
    }

    /// The experiment pairs of a checkpoint's metadata (empty for checkpoints written before they were recorded).
    static func decodeExperiment(_ s: String?, path: String) throws -> [(String, String)] {
        guard let s = s, !s.isEmpty else { return [] }
        guard let d = s.data(using: .utf8), let a = try? JSONSerialization.jsonObject(with: d) as? [[String]],
              a.allSatisfy({ $0.count == 2 }) else {
            throw EngineError.io("\(path): metadata 'experiment' is not a list of [field, value] pairs")
        }
        return a.map { ($0[0], $0[1]) }
    }

    /// The experiment pairs recorded in the checkpoint at `path` (its header only).
    public static func experiment(at path: String) throws -> [(String, String)] {
        try decodeExperiment(Safetensors.readEntries(path).metadata["experiment"], path: path)
    }

    /// The first field where the checkpoint's experiment `was` and this run's `now` differ, as a
    /// sentence, or nil when they agree (fields one side does not record are not compared).
    public static func firstDifference(was: [(String, String)], now: [(String, String)]) -> String? {
        let old = Dictionary(was, uniquingKeysWith: { a, _ in a })
        for (k, v) in now {
            if let o = old[k], o != v { return "\(k) was \(o), this run has \(v)" }
        }
        return nil
    }

    /// Reads a checkpoint into `model`, `optimizer` and `ema`; returns the position to continue from.
    /// Throws naming the file and the first tensor or field that does not fit; with `expect`
    /// (this run's experiment pairs) also when the checkpoint was written by a run whose recipe,
    /// data, attack or model differ, naming the first difference, unless `force` is set.
    public static func load(from path: String, model: Model, optimizer: Optimizer, ema: WeightEMA?,
                            expect: [(String, String)] = [], force: Bool = false) throws -> TrainingPosition {
        let (tensors, meta) = try Safetensors.read(path)
        guard meta["format"] == format else {
            throw EngineError.io("\(path): not a training checkpoint (no \"format\": \"\(format)\" in its metadata); use load_weights for plain weights")
        }
        let experiment = try decodeExperiment(meta["experiment"], path: path)
        if !force, let d = firstDifference(was: experiment, now: expect) {
            throw EngineError.invalidArgument("fit: \(path) was written by a different experiment: \(d) (pass force: true to resume it anyway)")
        }
        if let name = meta["model"], name != model.name {
            throw EngineError.io("\(path): checkpoint of a \(name) model, cannot resume a \(model.name)")
        }
        if let o = meta["optimizer"], o != optimizer.name {
            throw EngineError.io("\(path): checkpoint used optimizer \(o), this run uses \(optimizer.name)")
        }
        func int(_ k: String) throws -> Int {
            guard let s = meta[k], let v = Int(s) else { throw EngineError.io("\(path): metadata '\(k)' missing or not a number") }
            return v
        }
        func words(_ k: String) throws -> [UInt64] {
            guard let s = meta[k] else { throw EngineError.io("\(path): metadata '\(k)' missing") }
            if s.isEmpty { return [] }
            let w = s.split(separator: ",").compactMap { UInt64($0) }
            guard w.count >= 4 else { throw EngineError.io("\(path): metadata '\(k)' is not an RNG state") }
            return w
        }
        // Validate every tensor before changing anything, so a bad file leaves the model intact.
        let live = model.parameters() + model.buffers()
        for t in live {
            guard let s = tensors[t.name] else { throw EngineError.io("\(path): tensor '\(t.name)' missing") }
            guard s.shape == t.tensor.shape else {
                throw EngineError.shape("\(path): '\(t.name)' has shape \(s.shape), model has \(t.tensor.shape)")
            }
        }
        var p = TrainingPosition()
        p.epoch = try int("epoch"); p.batchInEpoch = try int("batch_in_epoch")
        p.globalStep = try int("global_step"); p.epochs = try int("epochs")
        guard let seed = meta["seed"].flatMap({ UInt64($0) }) else { throw EngineError.io("\(path): metadata 'seed' missing") }
        p.seed = seed
        p.attackRNG = try words("attack_rng"); p.globalRNG = try words("global_rng")
        guard let scale = meta["loss_scale"].flatMap({ Double($0) }) else { throw EngineError.io("\(path): metadata 'loss_scale' missing") }
        p.lossScaler = LossScaler(scale: scale, growthInterval: try int("loss_scale_growth"))
        p.lossScaler.cleanSteps = try int("loss_scale_clean_steps")
        p.badSteps = try int("bad_steps")
        p.finalLoss = meta["final_loss"].flatMap(Double.init)
        p.finalClean = meta["final_clean"].flatMap(Double.init)
        p.finalAdv = meta["final_adv"].flatMap(Double.init)
        p.experiment = experiment
        var opt: [String: Tensor] = [:], emaT: [String: Tensor] = [:]
        for (k, v) in tensors {
            if k.hasPrefix("optim.") { opt[String(k.dropFirst(6))] = v }
            if k.hasPrefix("ema.") { emaT[String(k.dropFirst(4))] = v }
        }
        try optimizer.loadState(opt)
        optimizer.stepCount = try int("optimizer_steps")
        if let e = ema { try e.load(emaT) }
        for t in live {
            if let s = tensors[t.name] { t.tensor.ptr.update(from: s.ptr, count: s.count) }
        }
        return p
    }
}
