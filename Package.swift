// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "tensorfs",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tensorfs", targets: ["tensorfs"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CFuse",
            pkgConfig: "fuse3",
            providers: [.apt(["libfuse3-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(name: "SafetensorsFormat"),
        .target(
            name: "TensorFS",
            dependencies: ["SafetensorsFormat"]
        ),
        .target(
            name: "RemoteSources",
            dependencies: ["CCurl", "SafetensorsFormat", "TensorFS"]
        ),
        .target(
            name: "FuseBridge",
            dependencies: ["CFuse", "TensorFS"]
        ),
        .executableTarget(
            name: "tensorfs",
            dependencies: [
                "SafetensorsFormat",
                "TensorFS",
                "FuseBridge",
                "RemoteSources",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // Every mount starts two processes (the command and its daemon); with the Swift
            // libraries linked in, each starts in about 9 ms instead of 13 (README, row 5).
            // lld, unlike gold, does not repeat glibc's link-time warning about the `mktemp`
            // that the static Foundation library references.
            linkerSettings: [.unsafeFlags(["-static-stdlib", "-use-ld=lld", "-l_FoundationCollections", "-l_FoundationCShims"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "header-benchmark",
            dependencies: ["SafetensorsFormat", "TensorFS"],
            path: "Benchmarks/HeaderBenchmark"
        ),
        .testTarget(name: "SafetensorsFormatTests", dependencies: ["SafetensorsFormat"]),
        .testTarget(name: "TensorFSTests", dependencies: ["TensorFS"]),
        .testTarget(name: "RemoteSourcesTests", dependencies: ["RemoteSources", "TensorFS", "SafetensorsFormat"]),
    ]
)
