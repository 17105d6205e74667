// swift-tools-version:6.0
import PackageDescription

// Dependency direction: adv -> Runtime -> (Lang, Engine). Never the other way.
let optimize: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "adv",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "adv", targets: ["adv"]),
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
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg62-turbo-dev"])]),

        // Hot kernels in C, compiled for AVX-512, AVX2 and baseline x86-64 (picked at load time).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"], .when(configuration: .release))]),

        .target(name: "Lang", swiftSettings: optimize),
        .target(name: "Engine", dependencies: ["CBLAS", "CZlib", "CPNG", "CJPEG", "CKernels"], swiftSettings: optimize),
        .target(name: "Runtime", dependencies: ["Lang", "Engine", "CReadline"], swiftSettings: optimize),
        .executableTarget(name: "adv", dependencies: [
            "Runtime",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: optimize),
        .executableTarget(name: "AdvBench", dependencies: ["Engine", "Runtime"], swiftSettings: optimize),
        // Seeded mutation fuzzing of every reader of untrusted input (docs/reliability.md).
        .target(name: "FuzzKit", dependencies: ["Lang", "Engine", "Runtime", "CZlib"], swiftSettings: optimize),
        .executableTarget(name: "AdvFuzz", dependencies: ["FuzzKit", "Engine"], swiftSettings: optimize),

        .testTarget(name: "LangTests", dependencies: ["Lang"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ModelTests", dependencies: ["Engine", "Runtime"], resources: [.copy("Fixtures")]),
        .testTarget(name: "DataTests", dependencies: ["Engine", "Runtime"], resources: [.copy("Fixtures")]),
        .testTarget(name: "AttackTests", dependencies: ["Engine", "Runtime"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TrainTests", dependencies: ["Engine", "Runtime"], resources: [.copy("Fixtures")]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "Lang", "Engine"]),
        .testTarget(name: "EndToEndTests", dependencies: [], resources: [.copy("Scripts")]),
        .testTarget(name: "FuzzKitTests", dependencies: ["FuzzKit"], resources: [.copy("Corpus")]),
    ],
    swiftLanguageModes: [.v5]
)
