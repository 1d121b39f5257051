// The same measurements as curl-ranges, with swift-server/async-http-client.
import AsyncHTTPClient
import NIOCore
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

func now() -> Double { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9 }

let args = CommandLine.arguments
let url = args[1]
let size = Int(args[2])!
let part = 8 << 20
let client = HTTPClient(eventLoopGroupProvider: .singleton)

func get(_ start: Int, _ count: Int, into buffer: UnsafeMutableRawBufferPointer) async throws -> Int {
    var request = HTTPClientRequest(url: url)
    request.headers.add(name: "Range", value: "bytes=\(start)-\(start + count - 1)")
    let response = try await client.execute(request, timeout: .seconds(30))
    var offset = 0
    for try await chunk in response.body {
        chunk.withUnsafeReadableBytes { bytes in
            (buffer.baseAddress! + offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            offset += bytes.count
        }
    }
    return offset
}

let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 4096)
// latency: small random range reads, one at a time
var latencies: [Double] = []
var rng = SystemRandomNumberGenerator()
for _ in 0..<2000 {
    let start = Int.random(in: 0..<(size - 4096), using: &rng)
    let t0 = now()
    _ = try await get(start, 4096, into: scratch)
    latencies.append(now() - t0)
}
latencies.sort()
print("ahc latency 4KiB p50 \(Int(latencies[1000] * 1e6)) us p99 \(Int(latencies[1980] * 1e6)) us")
for concurrency in [1, 4, 8] {
    var best = 0.0
    for _ in 0..<3 {
        let t0 = now()
        try await withThrowingTaskGroup(of: Int.self) { group in
            var next = 0
            var running = 0
            while next < size || running > 0 {
                while running < concurrency && next < size {
                    let s = next
                    let c = min(part, size - s)
                    let target = UnsafeMutableRawBufferPointer(rebasing: scratch[s..<(s + c)])
                    nonisolated(unsafe) let t = target
                    group.addTask { try await get(s, c, into: t) }
                    next += c; running += 1
                }
                _ = try await group.next()
                running -= 1
            }
        }
        best = max(best, Double(size) / (now() - t0) / 1e9)
    }
    print("ahc throughput 8MiB parts x\(concurrency): \((best * 100).rounded() / 100) GB/s")
}
try await client.shutdown()
