// swift-tools-version:6.0
import PackageDescription

// Dependency direction: adv -> Runtime -> (Lang, Engine -> Tensor). Never the other way.
let optimize: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "adv",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "adv", targets: ["adv"]),
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "Engine", targets: ["Engine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System-library shims, one folder each, found through pkg-config.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CReadline", path: "Sources/CReadline", pkgConfig: "readline",
                       providers: [.apt(["libreadline-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),

        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CCairo", path: "Sources/CCairo", pkgConfig: "cairo",
                       providers: [.apt(["libcairo2-dev"])]),
        // The Jupyter kernel: ZeroMQ sockets and OpenSSL's HMAC-SHA256 (docs/notebooks.md).
        .systemLibrary(name: "CZMQ", path: "Sources/CZMQ", pkgConfig: "libzmq",
                       providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg62-turbo-dev"])]),
        // Open MPI for multi-process runs under mpirun (docs/distributed.md).
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),

        // Hot kernels in C, compiled for AVX-512, AVX2 and baseline x86-64 (picked at load time).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"], .when(configuration: .release))]),
        // The git commit `adv --version` names (stamp.h, written by `make`; "unknown" without it).
        .target(name: "CBuildInfo"),

        .target(name: "Lang", swiftSettings: optimize),
        // Tensors, autograd, ops and the kernel/thread backend (Core/, Ops/, Backend/).
        .target(name: "Tensor", dependencies: ["CBLAS", "CKernels"], swiftSettings: optimize),
        // The vision side on top of it: Models, Attacks, Data, Training, Evaluation, IO.
        .target(name: "Engine", dependencies: ["Tensor", "CZlib", "CPNG", "CJPEG", "CKernels"], swiftSettings: optimize),
        .target(name: "Runtime", dependencies: ["Lang", "Engine", "Tensor", "CReadline", "CBuildInfo", "CCairo", "CZMQ", "COpenSSL", "CMPI"], swiftSettings: optimize),
        .executableTarget(name: "adv", dependencies: [
            "Runtime",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: optimize),
        .executableTarget(name: "AdvBench", dependencies: ["Tensor", "Engine", "Runtime"], swiftSettings: optimize),
        // Seeded mutation fuzzing of every reader of untrusted input (docs/reliability.md).
        .target(name: "FuzzKit", dependencies: ["Lang", "Tensor", "Engine", "Runtime", "CZlib"], swiftSettings: optimize),
        .executableTarget(name: "AdvFuzz", dependencies: ["FuzzKit", "Engine"], swiftSettings: optimize),

        .testTarget(name: "LangTests", dependencies: ["Lang"]),
        .testTarget(name: "EngineTests", dependencies: ["Tensor", "Engine"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ModelTests", dependencies: ["Tensor", "Engine", "Runtime"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DataTests", dependencies: ["Tensor", "Engine", "Runtime"], resources: [.copy("Fixtures")]),
        .testTarget(name: "AttackTests", dependencies: ["Tensor", "Engine", "Runtime"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TrainTests", dependencies: ["Tensor", "Engine", "Runtime"], resources: [.copy("Fixtures")]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "Lang", "Tensor", "Engine"]),
        .testTarget(name: "EndToEndTests", dependencies: [], resources: [.copy("Scripts")]),
        .testTarget(name: "FuzzKitTests", dependencies: ["FuzzKit"], resources: [.copy("Corpus")]),
    ],
    swiftLanguageModes: [.v5]
)
