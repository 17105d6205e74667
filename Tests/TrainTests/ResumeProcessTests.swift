// Resuming after SIGKILL: an `adv` child process trains with a checkpoint every step and is
// killed mid-epoch; a second process resumes from the checkpoint. The final weights must equal
// those of an uninterrupted run bit for bit (BatchNorm buffers, drop path, PGD random starts,
// AdamW state, schedule position all included).
import XCTest
import Foundation
import Engine
import Tensor

final class ResumeProcessTests: XCTestCase {
    /// The `adv` executable built next to this test bundle.
    func adv() throws -> URL {
        var starts: [URL] = []
        if let a0 = CommandLine.arguments.first { starts.append(URL(fileURLWithPath: a0).deletingLastPathComponent()) }
        for b in Bundle.allBundles { starts.append(b.bundleURL.deletingLastPathComponent()) }
        for s in starts {
            var dir = s.standardizedFileURL
            for _ in 0..<4 {
                let exe = dir.appendingPathComponent("adv")
                if FileManager.default.isExecutableFile(atPath: exe.path) { return exe }
                dir = dir.deletingLastPathComponent()
            }
        }
        throw XCTSkip("adv executable not built next to the tests (build the adv product first)")
    }

    static let script = """
    seed(3)
    data = synthetic(n: 128, classes: 4, image: 8, channels: 1, seed: 2, test: 32)
    m = model("resnet50_gelu", params: 2e4, image: 8, channels: 1, classes: 4, drop_path: 0.1)
    r = recipe(epochs: 2, batch: 16, lr: 0.01, lr_batch: 16, warmup_epochs: 0.5, warmup_lr: 0.001, min_lr: 0.0001)
    attack = pgd(eps: 4/255, step: 4/255, steps: 1)
    if args[2] == "resume" {
      fit(m, data, recipe: r, attack: attack, checkpoint: args[0], checkpoint_every: 1, resume: args[0], progress: false)
    } else {
      fit(m, data, recipe: r, attack: attack, checkpoint: args[0], checkpoint_every: 1, seed: 5, progress: false)
    }
    save(m, args[1])
    """

    func launch(_ exe: URL, _ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = exe
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    func step(of checkpoint: String) -> Int? {
        guard FileManager.default.fileExists(atPath: checkpoint),
              let meta = try? Safetensors.read(checkpoint).metadata else { return nil }
        return meta["global_step"].flatMap { Int($0) }
    }

    func testSIGKILLMidEpochThenResumeIsBitIdentical() throws {
        let exe = try adv()
        let dir = NSTemporaryDirectory() + "advkill-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = dir + "/train.adv"
        try ResumeProcessTests.script.write(toFile: script, atomically: true, encoding: .utf8)

        // Uninterrupted run.
        let full = try launch(exe, [script, dir + "/a.ckpt", dir + "/a.safetensors", "fresh"])
        full.waitUntilExit()
        XCTAssertEqual(full.terminationStatus, 0)
        XCTAssertEqual(step(of: dir + "/a.ckpt"), 16)

        // Killed run: SIGKILL once the checkpoint reaches step 3..12 of 16 (epoch 1 has steps 0-7).
        let ck = dir + "/b.ckpt"
        let victim = try launch(exe, [script, ck, dir + "/b.safetensors", "fresh"])
        let deadline = Date().addingTimeInterval(600)
        var killedAt: Int?
        while victim.isRunning && Date() < deadline {
            if let s = step(of: ck), s >= 3 {
                kill(victim.processIdentifier, SIGKILL)
                killedAt = s
                break
            }
            usleep(20_000)
        }
        victim.waitUntilExit()
        guard let k = killedAt else { return XCTFail("the run finished before it could be killed") }
        XCTAssertEqual(victim.terminationReason, .uncaughtSignal)
        let saved = try XCTUnwrap(step(of: ck))
        XCTAssertLessThan(saved, 16, "killed before the end (checkpoint at step \(saved), seen \(k))")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/b.safetensors"))

        // Resume to the end.
        let resumed = try launch(exe, [script, ck, dir + "/b.safetensors", "resume"])
        resumed.waitUntilExit()
        XCTAssertEqual(resumed.terminationStatus, 0)

        let a = try Safetensors.read(dir + "/a.safetensors").tensors
        let b = try Safetensors.read(dir + "/b.safetensors").tensors
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        XCTAssertTrue(a.keys.contains { $0.hasSuffix("running_mean") }, "BatchNorm buffers are saved")
        for (name, t) in a {
            XCTAssertTrue(t.toArray() == b[name]?.toArray(), "\(name) differs after SIGKILL + resume (killed at step \(saved))")
        }
    }
}
