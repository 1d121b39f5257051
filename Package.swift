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
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
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
            name: "ByteSources",
            dependencies: ["SafetensorsFormat", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(
            name: "TensorFS",
            dependencies: ["SafetensorsFormat", "ByteSources", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(
            name: "RemoteSources",
            dependencies: ["CCurl", "SafetensorsFormat", "ByteSources", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(
            name: "FuseBridge",
            dependencies: ["CFuse", "ByteSources", "TensorFS", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(
            name: "Mounting",
            dependencies: ["CFuse", "ByteSources", "TensorFS", "RemoteSources", "FuseBridge", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .executableTarget(
            name: "tensorfs",
            dependencies: [
                "SafetensorsFormat",
                "ByteSources",
                "TensorFS",
                "FuseBridge",
                "RemoteSources",
                "Mounting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            // Every mount starts two processes (the command and its daemon); with the Swift
            // libraries linked in, each starts in about 9 ms instead of 13 (docs/PERFORMANCE.md, row 5).
            // lld, unlike gold, does not repeat glibc's link-time warning about the `mktemp`
            // that the static Foundation library references.
            linkerSettings: [.unsafeFlags(["-static-stdlib", "-use-ld=lld", "-l_FoundationCollections", "-l_FoundationCShims"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "header-benchmark",
            dependencies: ["SafetensorsFormat", "ByteSources", "TensorFS"],
            path: "Benchmarks/HeaderBenchmark"
        ),
        .testTarget(name: "SafetensorsFormatTests", dependencies: ["SafetensorsFormat"]),
        .testTarget(name: "ByteSourcesTests", dependencies: ["ByteSources", .product(name: "SystemPackage", package: "swift-system")]),
        .testTarget(name: "TensorFSTests", dependencies: ["TensorFS", "ByteSources"]),
        .testTarget(name: "RemoteSourcesTests", dependencies: ["RemoteSources", "ByteSources", "SafetensorsFormat"]),
        .testTarget(name: "FuseBridgeTests", dependencies: ["FuseBridge"]),
        .testTarget(name: "MountingTests", dependencies: ["Mounting", "FuseBridge", "RemoteSources", "TensorFS", "ByteSources"]),
        .testTarget(name: "tensorfsTests", dependencies: ["tensorfs", "Mounting", "FuseBridge", "RemoteSources", "TensorFS", "ByteSources"]),
    ]
)
