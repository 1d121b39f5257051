// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "tensorfs",
    platforms: [.macOS(.v13)],
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
        .target(name: "SafetensorsFormat"),
        .target(
            name: "TensorFS",
            dependencies: [
                "SafetensorsFormat",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
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
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "SafetensorsFormatTests", dependencies: ["SafetensorsFormat"]),
        .testTarget(name: "TensorFSTests", dependencies: ["TensorFS"]),
    ]
)
