// The pooled order of an ensemble evaluation (docs/attacks.md, "Pooled order"), as the
// reference AutoAttack's run_standard_evaluation runs it: first a clean pass over all images
// keeps one robust flag per image; then each member in turn attacks every image still robust
// after the earlier members, in batches of the evaluation's batch size, so the later members
// (which see a few robust images per data batch) still get full batches. Progress is per member
// (what, how far, speed, ETA) and a line after each gives the robust accuracy after it. The
// state file keeps the flags, the member running and how far it got, so an interrupted run
// resumes where it stopped with the numbers an uninterrupted run gives. Images are reloaded
// from the data set for each member (memory stays one batch, whatever the data set's size).
import Foundation
import Tensor

extension EvalState {
    /// Where a pooled evaluation is: per image (over the evaluated images) and per member.
    struct Pooled: Codable {
        var labels: [Int] = []
        var clean: [Bool] = []
        var top5: [Bool] = []
        /// Clean-correct and not broken by any member run so far.
        var robust: [Bool] = []
        var brokenBy: [String] = []
        /// The member running (the member count once all have run).
        var stage = 0
        /// The images the running member attacks (nil until it starts) and how many it has done.
        var pending: [Int]? = nil
        var done = 0
    }
}

extension Evaluation {
    /// The RNG seed of member `stage`'s `chunk`-th batch (independent of where a run resumed).
    static func stageSeed(_ seed: UInt64, stage: Int, chunk: Int) -> UInt64 {
        var h = seed ^ 0xA0761D6478BD642F
        for v in [UInt64(stage), UInt64(chunk)] { h = (h ^ v) &* 0x100_0000_01b3; h ^= h >> 29 }
        return h
    }

    /// The images `idx` of `data` as one (N, C, H, W) batch, and their labels.
    static func loadRows(_ data: Dataset, _ idx: [Int], _ s: (channels: Int, height: Int, width: Int)) throws -> (Tensor, [Int]) {
        let d = s.channels * s.height * s.width
        let x = Tensor(zeros: [idx.count, s.channels, s.height, s.width])
        var labels = [Int](repeating: 0, count: idx.count)
        for (k, i) in idx.enumerated() { labels[k] = try data.load(i, into: x.ptr + k * d) }
        return (x, labels)
    }

    /// Runs `attack` over the first `total` images in the pooled order, continuing `state`
    /// (fresh or loaded); `checkpoint(final)` saves the state file (it sets the seconds).
    /// On return `state` holds the counts and, with `perExample`, the per-image outcomes.
    static func runPooled(_ model: Model, _ data: Dataset, attack: StagedAttack, label: String, options: EvalOptions,
                          total: Int, state: inout EvalState, checkpoint: (inout EvalState) throws -> Void) throws {
        var p = state.pooled ?? EvalState.Pooled()
        let s = model.inputShape
        let every = max(options.saveEvery, 1)
        func count(_ a: [Bool]) -> Int { a.filter { $0 }.count }
        if state.next < total {
            let progress = Progress("evaluate \(model.name): clean", total: total, unit: "images", enabled: options.progress)
            progress.resume(from: state.next)
            defer { progress.finish() }
            var batches = 0
            while state.next < total {
                try Interrupt.check()
                let lo = state.next, hi = min(lo + options.batch, total)
                let (x, labels) = try loadRows(data, Array(lo..<hi), s)
                let logits = try AttackOps.logits(model, x)
                let pred = AttackOps.predictions(logits)
                let correct = (0..<labels.count).map { pred[$0] == labels[$0] }
                p.labels += labels; p.clean += correct; p.robust += correct
                p.top5 += topK(logits, labels, k: 5)
                p.brokenBy += [String](repeating: "", count: labels.count)
                let idx = (0..<labels.count).filter { correct[$0] }
                if options.sanity && !state.sanityDone && !idx.isEmpty {
                    let m = min(SanityChecks.sampleSize, idx.count)
                    let seed = state.seed &+ (UInt64(lo / options.batch) &+ 1) &* 0x9E37_79B9_7F4A_7C15
                    let w = try SanityChecks.run(attack, model: model, x: try AttackOps.rows(x, Array(idx[0..<m])),
                                                 labels: idx[0..<m].map { labels[$0] }, seed: seed ^ 0x5A5A)
                    if !w.isEmpty { progress.finish() }
                    for line in w { log("WARNING: sanity check failed: \(line)") }
                    state.warnings += w
                    state.sanityDone = true
                }
                state.next = hi
                state.clean = count(p.clean); state.robust = count(p.robust); state.top5 = count(p.top5)
                state.pooled = p
                batches += 1
                if batches % every == 0 || hi == total { try checkpoint(&state) }
                progress.update(hi, metric: "clean \(pct(state.clean, hi))", force: hi == total)
            }
        }
        while p.stage < attack.stageCount {
            let k = p.stage
            let pending = attack.runsStages ? (p.pending ?? (0..<total).filter { p.robust[$0] }) : []
            p.pending = pending
            let member = attack.stageName(k)
            let progress = Progress("evaluate \(model.name): \(label) \(member) (\(k + 1)/\(attack.stageCount))",
                                    total: pending.count, unit: "images", enabled: options.progress)
            progress.resume(from: p.done)
            defer { progress.finish() }
            let before = count(p.robust)
            let start = Date()
            var chunks = 0
            while p.done < pending.count {
                try Interrupt.check()
                let idx = Array(pending[p.done..<min(p.done + options.batch, pending.count)])
                let (x, labels) = try loadRows(data, idx, s)
                try AttackOps.checkImages(x, model: model, attack: label)
                let rng = RNG(seed: stageSeed(state.seed, stage: k, chunk: p.done / options.batch))
                let t0 = Date()
                let r = try attack.runStage(k, model, x, goal: AttackGoal(labels: labels), rng: rng)
                var broken = 0
                for (j, i) in idx.enumerated() where r.fooled[j] { p.robust[i] = false; p.brokenBy[i] = r.brokenBy[j]; broken += 1 }
                attack.recordStage(k, attacked: idx.count, broken: broken, seconds: Date().timeIntervalSince(t0))
                p.done += idx.count
                chunks += 1
                state.robust = count(p.robust)
                state.pooled = p
                if chunks % every == 0 && p.done < pending.count { try checkpoint(&state) }
                progress.update(p.done, metric: "robust \(pct(state.robust, total))", force: p.done == pending.count)
            }
            let left = count(p.robust)
            if !pending.isEmpty {
                progress.note("\(label): robust accuracy after \(member.uppercased()): \(pct(left, total)) (\(before - left) of \(pending.count) broken, \(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
            }
            p.stage += 1; p.pending = nil; p.done = 0
            state.pooled = p
            try checkpoint(&state)
        }
        state.clean = count(p.clean); state.robust = count(p.robust); state.top5 = count(p.top5)
        state.perAttack = [state.robust]
        if options.perExample {
            state.examples = EvalState.Examples(labels: p.labels, clean: p.clean, robust: p.robust, brokenBy: p.brokenBy, top5: p.top5)
        }
    }
}
