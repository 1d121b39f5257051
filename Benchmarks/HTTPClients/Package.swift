// swift-tools-version:6.0
// Compares the two HTTP stacks considered for remote sources on the same workload: range GETs
// of one object on loopback, small ones one at a time (latency) and 8 MiB parts with 1, 4 and 8
// in flight (throughput), every body copied into memory. Not part of the tensorfs build; run
// scripts/bench_http_clients.sh.
import PackageDescription

let package = Package(
    name: "HTTPClients",
    dependencies: [.package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0")],
    targets: [
        .executableTarget(name: "ahc-ranges", dependencies: [.product(name: "AsyncHTTPClient", package: "async-http-client")]),
        .systemLibrary(name: "CCurlRanges", pkgConfig: "libcurl"),
        .executableTarget(name: "curl-ranges", dependencies: ["CCurlRanges"]),
    ]
)
