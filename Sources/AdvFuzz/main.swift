// AdvFuzz: the fuzz campaign's driver (docs/reliability.md, "Fuzzing").
//   AdvFuzz TARGET [-n COUNT] [--seed S] [--corpus DIR] [--scratch DIR]
// runs COUNT mutated inputs through TARGET (lang, safetensors, idx, cifar, npy, png, jpeg,
// checkpoint); the corpus folder's TARGET subfolder adds seeds. Each input is written to
// SCRATCH/current-TARGET.bin before it runs, so after a crash that file reproduces it.
// Build it with AddressSanitizer for the campaign:
//   swift build -c release -Xswiftc -enable-testing -Xswiftc -sanitize=address --scratch-path .build-asan --product AdvFuzz
import Engine
import Foundation
import FuzzKit

var args = Array(CommandLine.arguments.dropFirst())
func option(_ name: String) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    let v = args[i + 1]
    args.removeSubrange(i...i + 1)
    return v
}
let count = option("-n").flatMap { Int($0) } ?? 100_000
let seed = option("--seed").flatMap { UInt64($0) } ?? 1
let corpusDir = option("--corpus") ?? "Tests/FuzzKitTests/Corpus"
let scratch = option("--scratch") ?? NSTemporaryDirectory() + "/adv-fuzz-\(getpid())"
guard let name = args.first else {
    Console.err("usage: AdvFuzz TARGET [-n COUNT] [--seed S] [--corpus DIR] [--scratch DIR]\ntargets: \(FuzzTargets.names.joined(separator: " "))\n")
    exit(2)
}
try? FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
let target = try FuzzTargets.make(name, scratch: scratch)
let current = open(scratch + "/current-\(name).bin", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
Console.out("AdvFuzz \(name): \(count) inputs, seed \(seed), corpus \(corpusDir)/\(name)\n")
let stats = try Campaign.run(target, count: count, seed: seed, corpus: Campaign.corpus(corpusDir + "/" + name),
                             beforeEach: { input in
                                 _ = ftruncate(current, 0)
                                 _ = input.withUnsafeBytes { pwrite(current, $0.baseAddress, $0.count, 0) }
                             },
                             progress: { s in if s.inputs % 100_000 == 0 { Console.out("  \(s)\n") } })
var usage = rusage()
getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
Console.out("AdvFuzz \(name): \(stats); peak RSS \(usage.ru_maxrss / 1024) MiB; no crash\n")
