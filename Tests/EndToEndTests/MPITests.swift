import Foundation
import XCTest

/// Multi-process runs (docs/distributed.md): the built adv under
/// `mpirun --oversubscribe --allow-run-as-root -np 2`, compared with one process. Skips when
/// mpirun is missing (make deps installs openmpi-bin).
final class MPITests: XCTestCase {
    func run(_ script: String, np: Int, timeout: Double = 60) throws -> (out: String, err: String, status: Int32) {
        try runUnderMPI(script, np: np, timeout: timeout)
    }


    /// evaluate and sweep on 2 processes (each a share of the batches, counts summed) print what
    /// one process prints: clean, robust and per-attack counts, with a random start.
    func testEvaluateOnTwoProcessesEqualsOne() throws {
        let script = """
            seed(0)
            data = synthetic(n: 1000, classes: 10, image: 32, seed: 0)
            m = model("convnext_atto", params: 2e5, image: 32, classes: 10)
            fit(m, data, recipe: recipe(epochs: 1, batch: 32, lr: 4e-3), max_steps: 10, progress: false)
            """
        let eval = """
            seed(1)
            atk = pgd(eps: 1/255, step: 1/255, steps: 1)
            r = evaluate(m, data, attacks: [atk, fgsm(eps: 2/255)], batch: 16, limit: 136, progress: false)
            print("images", r.images, "clean", r.clean, "robust", r.robust, "per attack", r.attacks[0].robust, r.attacks[1].robust)
            s = sweep(m, data, attack: atk, eps: [0.5/255, 1/255, 2/255], batch: 16, limit: 136, progress: false)
            print("sweep", s.clean, s.robust)
            print(table([r]))
            print("rank {rank()} of {ranks()}", all: true)
            """
        // Train on one process, save; evaluate the saved model on 1 and on 2 processes.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adv-mpi-model-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let weights = dir.appendingPathComponent("m.safetensors").path
        let trained = try run(script + "\nsave(m, \"\(weights)\")\n", np: 0)
        XCTAssertEqual(trained.status, 0, trained.err)
        let load = """
            data = synthetic(n: 1000, classes: 10, image: 32, seed: 0)
            m = model("convnext_atto", params: 2e5, image: 32, classes: 10)
            load_weights(m, "\(weights)")
            """
        let one = try run(load + "\n" + eval, np: 1)
        let two = try run(load + "\n" + eval, np: 2)
        XCTAssertEqual(one.status, 0, one.err)
        XCTAssertEqual(two.status, 0, two.err)
        let strip = { (s: String) in s.split(separator: "\n").filter { !$0.hasPrefix("[rank") }.joined(separator: "\n") }
        XCTAssertTrue(strip(one.out).contains("images 136 clean"), one.out)
        XCTAssertEqual(strip(two.out), strip(one.out))
        XCTAssertTrue(one.out.contains("[rank 0] rank 0 of 1"), one.out)
        XCTAssertTrue(two.out.contains("[rank 0] rank 0 of 2"), two.out)
        XCTAssertTrue(two.out.contains("[rank 1] rank 1 of 2"), two.out)
    }

    /// An error on one rank names the rank and ends every process (the other waits in a
    /// barrier) with exit status 1, well before the timeout.
    func testErrorOnOneRankEndsAll() throws {
        let start = Date()
        let r = try run("""
            if rank() == 1 { error("boom on one rank") }
            barrier()
            print("after the barrier")
            """, np: 2, timeout: 50)
        XCTAssertEqual(r.status, 1, r.out + r.err)
        XCTAssertLessThan(Date().timeIntervalSince(start), 40)
        XCTAssertTrue(r.err.contains("[rank 1]") && r.err.contains("boom on one rank"), r.err)
        XCTAssertFalse(r.out.contains("after the barrier"), r.out)
    }

    /// A warning (here the small token grid of a model) prints once, from rank 0, not once per rank.
    func testWarningsPrintOnce() throws {
        let r = try run("""
            m = model("deit_small", params: 2e5, image: 32, classes: 10)
            barrier()
            print("ok")
            """, np: 2)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out, "ok\n")
        XCTAssertEqual(r.err.components(separatedBy: "warning: model deit_small").count - 1, 1, r.err)
    }

    /// Without mpirun adv is one process (rank 0 of 1, barrier a no-op); a recipe written for
    /// several workers is refused instead of training at another learning rate.
    func testOneProcessAndWorkersCheck() throws {
        let r = try run("""
            barrier()
            print(rank(), ranks())
            m = model("convnext_atto", params: 2e5, image: 32, classes: 10)
            fit(m, synthetic(n: 64, classes: 10, image: 32, seed: 0), recipe: recipe(epochs: 1, batch: 16, workers: 2), max_steps: 1, progress: false)
            """, np: 0)
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertEqual(r.out, "0 1\n")
        XCTAssertTrue(r.err.contains("workers: 2 but this run has 1 process"), r.err)
    }
}

/// Runs `script` with adv, under `mpirun --oversubscribe --allow-run-as-root -np N` when np > 0
/// (else plainly), in a scratch folder with `env` added; returns stdout, stderr and the exit
/// status. Kills the run after `timeout` seconds. `started`, when given, is called with the
/// launched process. Skips the test when mpirun is missing.
/// With `rankStatuses`, each rank's adv runs under a small shell that survives mpirun's SIGTERM
/// and records adv's exit status; the lines "rank R status S" are appended to stderr.
func runUnderMPI(_ script: String, np: Int, timeout: Double = 60, env extra: [String: String] = [:],
                 mpiArgs: [String] = [], rankStatuses: Bool = false,
                 started: ((Process, URL) -> Void)? = nil) throws -> (out: String, err: String, status: Int32) {
    let mpirun = "/usr/bin/mpirun"
    guard FileManager.default.isExecutableFile(atPath: mpirun) else { throw XCTSkip("mpirun is not installed (make deps)") }
    guard let adv = advExecutable() else { throw XCTSkip("adv executable not found next to the test bundle") }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("adv-mpi-\(getpid())-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("script.adv")
    try script.write(to: file, atomically: true, encoding: .utf8)
    let p = Process()
    if np > 0 {
        p.executableURL = URL(fileURLWithPath: mpirun)
        let command = rankStatuses
            ? ["/bin/sh", "-c", "trap : TERM INT; \"$0\" \"$@\"; echo \"rank $OMPI_COMM_WORLD_RANK status $?\" >> \(dir.path)/statuses.txt",
               adv.path, file.path]
            : [adv.path, file.path]
        p.arguments = ["--oversubscribe", "--allow-run-as-root"] + mpiArgs + ["-np", "\(np)"] + command
    } else {
        p.executableURL = adv
        p.arguments = [file.path]
    }
    var env = ProcessInfo.processInfo.environment
    env["ADV_PROGRESS"] = "0"
    env.merge(extra) { $1 }
    p.environment = env
    p.currentDirectoryURL = dir
    let out = Pipe(), err = Pipe()
    p.standardOutput = out; p.standardError = err; p.standardInput = FileHandle.nullDevice
    var errData = Data()
    let errDone = DispatchSemaphore(value: 0)
    DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); errDone.signal() }
    try p.run()
    started?(p, dir)
    let watchdog = DispatchWorkItem { if p.isRunning { p.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    watchdog.cancel()
    errDone.wait()
    var errText = String(decoding: errData, as: UTF8.self)
    if rankStatuses {
        usleep(300_000)  // the shells write after their adv exits
        errText += (try? String(contentsOf: dir.appendingPathComponent("statuses.txt"), encoding: .utf8)) ?? "(no rank statuses)\n"
    }
    return (String(decoding: outData, as: UTF8.self), errText, p.terminationStatus)
}
