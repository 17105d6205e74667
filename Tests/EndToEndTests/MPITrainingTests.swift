import Foundation
import XCTest

/// Data-parallel `fit` (docs/distributed.md): 2 processes x batch 16 against 1 process x batch
/// 32 under `mpirun --oversubscribe --allow-run-as-root -np 2`, compared weight by weight; resume
/// on another process count; a lost rank. Skips when mpirun is missing (make deps).
final class MPITrainingTests: XCTestCase {
    let runner = MPIRunner()

    /// A scratch folder removed after the test.
    func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adv-ddp-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// Twenty PGD-1 adversarial steps (random start on, mixup off) of `arch` on the processes of
    /// the run at a global batch of 32, weights saved to `out`. SGD with momentum: AdamW divides
    /// each gradient entry by its own running magnitude, so an entry whose true gradient is zero
    /// (attention's key bias: softmax ignores it) steps by about lr on rounding noise, which
    /// differs between summation orders (DeiT's qkv bias then differs by 5e-4 relative under
    /// AdamW, every weight by under 1e-6 under SGD).
    /// `batch` and `accumulation` split the global batch of 32 (default: 32 / ranks() x 1).
    func trainScript(_ arch: String, out: String, syncBN: Bool = false, maxSteps: Int = 20, extra: String = "",
                     batch: String = "32 / ranks()", accumulation: Int = 1) -> String {
        """
        data = synthetic(n: 640, classes: 10, image: 32, seed: 0)
        m = model("\(arch)", params: 2e5, image: 32, classes: 10\(arch.hasPrefix("resnet") ? "" : ", drop_path: 0.1"))
        r = recipe(epochs: 1, batch: \(batch), workers: ranks(), accumulation: \(accumulation), lr: 2e-3, warmup_epochs: 0, optimizer: "sgd", momentum: 0.9)
        atk = pgd(eps: 2/255, step: 2/255, steps: 1)
        res = fit(m, data, recipe: r, attack: atk, seed: 7, max_steps: \(maxSteps), progress: false, sync_bn: \(syncBN)\(extra))
        print("steps", res.steps, "loss", res.loss, "adv", res.adv, "clean", res.clean)
        save(m, "\(out)")
        """
    }

    /// The largest difference between two saved weight files relative to the largest weight of
    /// each tensor, and the name of that tensor.
    func relativeDifference(_ a: URL, _ b: URL) throws -> (Double, String) {
        let x = try SafetensorsF32.read(a), y = try SafetensorsF32.read(b)
        XCTAssertEqual(Set(x.keys), Set(y.keys))
        var worst = (0.0, "")
        for (name, u) in x {
            guard let v = y[name], v.count == u.count else { XCTFail("\(name) differs in size"); continue }
            let scale = max(v.map { abs(Double($0)) }.max() ?? 0, 1e-12)
            let d = zip(u, v).map { abs(Double($0) - Double($1)) }.max() ?? 0
            if d / scale > worst.0 { worst = (d / scale, name) }
        }
        return worst
    }

    /// 2 x 16 against 1 x 32 for one architecture: same weights within 1e-5 relative and the
    /// same printed loss and accuracies (to the digits the summation order leaves).
    func checkSameRun(_ arch: String, syncBN: Bool = false) throws {
        let dir = try scratch()
        let one = dir.appendingPathComponent("one.safetensors"), two = dir.appendingPathComponent("two.safetensors")
        let a = try runner.run(trainScript(arch, out: one.path, syncBN: syncBN), np: 0, timeout: 600)
        XCTAssertEqual(a.status, 0, a.err)
        let b = try runner.run(trainScript(arch, out: two.path, syncBN: syncBN), np: 2, timeout: 600)
        XCTAssertEqual(b.status, 0, b.err)
        XCTAssertTrue(a.out.hasPrefix("steps 20 "), a.out)
        XCTAssertTrue(b.out.hasPrefix("steps 20 "), b.out)
        let (d, name) = try relativeDifference(one, two)
        XCTAssertLessThan(d, 1e-5, "\(arch): \(name) differs by \(d) relative")
        // The counts (adversarial and clean training accuracy) are exact; the loss to rounding.
        let fields = { (s: String) in s.split(separator: " ").map(String.init) }
        let fa = fields(a.out), fb = fields(b.out)
        XCTAssertEqual(fa.count, fb.count)
        if fa.count == 8 && fb.count == 8 {
            XCTAssertEqual(Double(fa[3]) ?? 0, Double(fb[3]) ?? 1, accuracy: 1e-5, a.out + b.out)
            XCTAssertEqual(fa[5], fb[5]); XCTAssertEqual(fa[7], fb[7])
        }
        // The run really changed the weights (the comparison is not between two untouched models).
        XCTAssertNotEqual(try Data(contentsOf: one), try initialWeights(arch, dir))
    }

    /// The weights of a freshly built model, to check that training moved them.
    func initialWeights(_ arch: String, _ dir: URL) throws -> Data {
        let f = dir.appendingPathComponent("init.safetensors")
        let r = try runner.run("""
            m = model("\(arch)", params: 2e5, image: 32, classes: 10\(arch.hasPrefix("resnet") ? "" : ", drop_path: 0.1"))
            save(m, "\(f.path)")
            """, np: 0)
        XCTAssertEqual(r.status, 0, r.err)
        return try Data(contentsOf: f)
    }

    func testConvNeXtTwoProcessesEqualOne() throws { try checkSameRun("convnext_atto") }
    func testSwinTwoProcessesEqualOne() throws { try checkSameRun("swin_tiny") }
    func testDeiTTwoProcessesEqualOne() throws { try checkSameRun("deit_tiny") }
    func testResNetSyncBNTwoProcessesEqualOne() throws { try checkSameRun("resnet18", syncBN: true) }

    /// Without sync_bn each process normalises with its own batch statistics: ResNet's weights
    /// then differ from one process's (the comparison above can fail).
    func testResNetWithoutSyncBNDiffers() throws {
        let dir = try scratch()
        let one = dir.appendingPathComponent("one.safetensors"), two = dir.appendingPathComponent("two.safetensors")
        let a = try runner.run(trainScript("resnet18", out: one.path, maxSteps: 3), np: 0, timeout: 600)
        let b = try runner.run(trainScript("resnet18", out: two.path, maxSteps: 3), np: 2, timeout: 600)
        XCTAssertEqual(a.status, 0, a.err); XCTAssertEqual(b.status, 0, b.err)
        XCTAssertGreaterThan(try relativeDifference(one, two).0, 1e-4)
    }

    /// A run started on 2 processes x 16 and stopped after 10 steps (checkpoint in `dir`)
    /// resumes on 1 process as `batch` x `accumulation` and ends with the weights of an
    /// uninterrupted 1 x 32 run. Returns the checkpoint's path.
    @discardableResult
    func checkResumeEqualsWholeRun(_ dir: URL, batch: String = "32 / ranks()", accumulation: Int = 1) throws -> String {
        let ck = dir.appendingPathComponent("ck.safetensors").path
        let whole = dir.appendingPathComponent("whole.safetensors"), resumed = dir.appendingPathComponent("resumed.safetensors")
        let a = try runner.run(trainScript("convnext_atto", out: whole.path), np: 0, timeout: 600)
        XCTAssertEqual(a.status, 0, a.err)
        let first = try runner.run(trainScript("convnext_atto", out: dir.appendingPathComponent("half.safetensors").path,
                                               maxSteps: 10, extra: ", checkpoint: \"\(ck)\""), np: 2, timeout: 600)
        XCTAssertEqual(first.status, 0, first.err)
        XCTAssertTrue(first.out.hasPrefix("steps 10 "), first.out)
        let second = try runner.run(trainScript("convnext_atto", out: resumed.path, extra: ", resume: \"\(ck)\"",
                                                batch: batch, accumulation: accumulation), np: 0, timeout: 600)
        XCTAssertEqual(second.status, 0, second.err)
        XCTAssertTrue(second.out.hasPrefix("steps 20 "), second.out)
        let (d, name) = try relativeDifference(whole, resumed)
        XCTAssertLessThan(d, 1e-5, "\(name) differs by \(d) relative")
        return ck
    }

    /// 2 processes x 16 resumed on 1 process x 32 (same global batch and accumulation).
    func testResumeOnAnotherProcessCount() throws {
        try checkResumeEqualsWholeRun(try scratch())
    }

    /// 2 processes x 16 images x accumulation 1 resumed as 1 process x 16 x accumulation 2 (the
    /// same global batch of 32, split otherwise) continues the same run; a different global
    /// batch is refused naming it.
    func testResumeWithAnotherAccumulation() throws {
        let dir = try scratch()
        let ck = try checkResumeEqualsWholeRun(dir, batch: "16", accumulation: 2)
        let other = try runner.run(trainScript("convnext_atto", out: dir.appendingPathComponent("other.safetensors").path,
                                               extra: ", resume: \"\(ck)\"", batch: "16"), np: 0, timeout: 600)
        XCTAssertEqual(other.status, 1, other.err)
        XCTAssertTrue(other.err.contains("batch size was 32, this run has 16"), other.err)
    }

    /// A long data-parallel run with a checkpoint every 2 steps; once the first checkpoint is
    /// written, `signal` is sent to rank 1 (to mpirun with `toMPIRun`). Returns the run's output,
    /// status and seconds from the signal to the end, and the checkpoint's path (in a folder
    /// kept until the test ends); stderr ends with each rank's own exit status.
    func killRankOne(signal: Int32, env: [String: String] = [:], mpiArgs: [String] = [], toMPIRun: Bool = false) throws
        -> (out: String, err: String, status: Int32, seconds: Double, checkpoint: String) {
        let dir = try scratch()
        let ck = dir.appendingPathComponent("ck.safetensors").path
        var signalled = Date.distantFuture
        let script = trainScript("convnext_atto", out: dir.appendingPathComponent("m.safetensors").path, maxSteps: 100_000,
                                 extra: ", epochs: 5000, checkpoint: \"\(ck)\", checkpoint_every: 2")
        let r = try runUnderMPI(script, np: 2, timeout: 300, env: env, mpiArgs: mpiArgs, rankStatuses: true) { p, _ in
            DispatchQueue.global().async {
                while p.isRunning && !FileManager.default.fileExists(atPath: ck) { usleep(100_000) }
                guard p.isRunning, let pid = toMPIRun ? p.processIdentifier : rankPid(1, under: p.processIdentifier) else { return }
                signalled = Date()
                kill(pid, signal)
            }
        }
        return (r.out, r.err, r.status, Date().timeIntervalSince(signalled), ck)
    }

    /// The checkpoint left by a lost rank loads and training continues from it on one process.
    func checkCheckpointIntact(_ ck: String) throws {
        let dir = try scratch()
        let step = try SafetensorsF32.metadata(URL(fileURLWithPath: ck))["global_step"].flatMap { Int($0) } ?? 0
        XCTAssertGreaterThanOrEqual(step, 2)
        let r = try runner.run(trainScript("convnext_atto", out: dir.appendingPathComponent("m.safetensors").path, maxSteps: step + 1,
                                           extra: ", epochs: 5000, resume: \"\(ck)\""), np: 0, timeout: 300)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix("steps \(step + 1) "), r.out)
    }

    /// A killed rank under mpirun's default policy: the job ends within seconds, the message
    /// names the lost rank, the status is not 0, and the last checkpoint is intact.
    /// mpirun sends the survivor SIGTERM (or the survivor, waiting in a sum, finds the lost pid
    /// first); it names the lost rank and exits with status 1. mpirun itself exits with the
    /// killed process's status (137 = 128 + SIGKILL) or, when the survivor's abort reaches it
    /// first, 1.
    func testKilledRankEndsTheRun() throws {
        let r = try killRankOne(signal: SIGKILL)
        XCTAssertLessThan(r.seconds, 30, r.err)
        XCTAssertTrue(r.status == 137 || r.status == 1, "mpirun status \(r.status): \(r.err)")
        XCTAssertTrue(r.err.contains("[rank 0] ") && r.err.contains("lost a process: rank 1 (pid"), r.err)
        XCTAssertTrue(r.err.contains("rank 0 status 1\n"), r.err)
        try checkCheckpointIntact(r.checkpoint)
    }

    /// Ctrl-C (SIGINT to mpirun; mpirun sends every process SIGTERM after
    /// odls_base_sigkill_timeout seconds): every process stops after the same step with status
    /// 130, rank 0 writes the checkpoint, and the run resumes from it. mpirun exits with 1.
    func testInterruptStopsEveryRank() throws {
        let r = try killRankOne(signal: SIGINT, mpiArgs: ["--mca", "odls_base_sigkill_timeout", "20"], toMPIRun: true)
        XCTAssertLessThan(r.seconds, 60, r.err)
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("rank 0 status 130\n") && r.err.contains("rank 1 status 130\n"), r.err)
        XCTAssertTrue(r.err.contains("[rank 0]") && r.err.contains("interrupted"), r.err)
        XCTAssertFalse(r.out.contains("steps "), r.out)
        try checkCheckpointIntact(r.checkpoint)
    }

    /// With mpirun told to keep the other processes running, adv itself notices the killed rank
    /// (its pid is gone) and stops within seconds with a message naming it (rank 0 exits with
    /// status 1; mpirun reports the killed process's status, 137).
    func testKilledRankNoticedByTheOthers() throws {
        let r = try killRankOne(signal: SIGKILL, mpiArgs: ["--mca", "orte_abort_on_non_zero_status", "0"])
        XCTAssertLessThan(r.seconds, 30, r.err)
        XCTAssertNotEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("[rank 0]") && r.err.contains("rank 1 (pid"), r.err)
        XCTAssertTrue(r.err.contains("rank 0 status 1\n"), r.err)
        try checkCheckpointIntact(r.checkpoint)
    }

    /// A rank that hangs without dying (SIGSTOP): the collective's deadline (ADV_MPI_TIMEOUT)
    /// ends every process with status 1 and a message naming the stopped rank.
    func testStoppedRankTimesOut() throws {
        let r = try killRankOne(signal: SIGSTOP, env: ["ADV_MPI_TIMEOUT": "10"])
        XCTAssertLessThan(r.seconds, 30, r.err)
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("rank 1 (pid") && r.err.contains("is stopped"), r.err)
        XCTAssertTrue(r.err.contains("rank 0 status 1\n"), r.err)
        try checkCheckpointIntact(r.checkpoint)
    }
}

/// The pid of the adv process of `rank` started by the mpirun with pid `parent` (its child, or
/// its grandchild under runUnderMPI's status shell, named adv, whose environment has
/// OMPI_COMM_WORLD_RANK=rank).
func rankPid(_ rank: Int, under parent: Int32) -> Int32? {
    func ppid(_ p: String) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(p)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }
    let procs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for p in procs {
        guard let pid = Int32(p), let up = ppid(p), up == parent || ppid(String(up)) == parent,
              (try? String(contentsOfFile: "/proc/\(p)/comm", encoding: .utf8))?.hasPrefix("adv") == true,
              let env = FileManager.default.contents(atPath: "/proc/\(p)/environ") else { continue }
        if env.split(separator: 0).contains(where: { String(decoding: $0, as: UTF8.self) == "OMPI_COMM_WORLD_RANK=\(rank)" }) {
            return pid
        }
    }
    return nil
}

/// The float32 tensors of a safetensors file by name (enough of the format for the tests).
enum SafetensorsF32 {
    /// The JSON header and where the data starts.
    static func header(_ data: Data) throws -> ([String: Any], Int) {
        guard data.count >= 8 else { throw CocoaError(.fileReadCorruptFile) }
        let n = data.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        return (try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any] ?? [:], 8 + n)
    }

    static func metadata(_ url: URL) throws -> [String: String] {
        try header(Data(contentsOf: url)).0["__metadata__"] as? [String: String] ?? [:]
    }

    static func read(_ url: URL) throws -> [String: [Float]] {
        let data = try Data(contentsOf: url)
        let (header, start) = try header(data)
        let n = start - 8
        var out: [String: [Float]] = [:]
        for (name, v) in header where name != "__metadata__" {
            guard let e = v as? [String: Any], e["dtype"] as? String == "F32", let o = e["data_offsets"] as? [Int] else { continue }
            let bytes = data.subdata(in: (8 + n + o[0])..<(8 + n + o[1]))
            out[name] = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        return out
    }
}

/// `runUnderMPI` as a method, for the tests' brevity.
struct MPIRunner {
    func run(_ script: String, np: Int, timeout: Double = 60) throws -> (out: String, err: String, status: Int32) {
        try runUnderMPI(script, np: np, timeout: timeout)
    }
}
