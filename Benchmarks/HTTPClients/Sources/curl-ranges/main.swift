// Range GETs with libcurl's multi interface: latency of 4 KiB requests one at a time, then
// throughput of 8 MiB parts with 1, 4 and 8 in flight, each body copied into memory.
import CCurlRanges
#if canImport(Glibc)
import Glibc
#endif

func now() -> Double { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9 }

final class Sink { var base: UnsafeMutableRawPointer; var offset = 0; init(_ b: UnsafeMutableRawPointer) { base = b } }
nonisolated(unsafe) let write: ccurl_data_callback = { data, size, count, ctx in
    let sink = Unmanaged<Sink>.fromOpaque(ctx!).takeUnretainedValue()
    (sink.base + sink.offset).copyMemory(from: data!, byteCount: size * count)
    sink.offset += size * count
    return size * count
}

nonisolated(unsafe) let url = CommandLine.arguments[1]
nonisolated(unsafe) let size = Int(CommandLine.arguments[2])!
let part = 8 << 20
curl_global_init(ccurl_global_all)
nonisolated(unsafe) let multi = curl_multi_init()!
nonisolated(unsafe) var idle: [UnsafeMutableRawPointer] = []
nonisolated(unsafe) let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 4096)

/// Runs the given ranges with at most `concurrency` in flight.
func run(_ ranges: [(Int, Int)], concurrency: Int) {
    var next = 0
    var active: [UnsafeMutableRawPointer: (Sink, UnsafeMutablePointer<curl_slist>?)] = [:]
    func start() {
        let (s, c) = ranges[next]; next += 1
        let h = idle.popLast() ?? curl_easy_init()!
        curl_easy_reset(h)
        ccurl_setopt_string(h, CURLOPT_URL, url)
        ccurl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        ccurl_setopt_long(h, CURLOPT_BUFFERSIZE, 512 << 10)
        let sink = Sink(scratch.baseAddress! + s)
        ccurl_setopt_callback(h, CURLOPT_WRITEFUNCTION, write)
        ccurl_setopt_pointer(h, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque())
        let list = curl_slist_append(nil, "Range: bytes=\(s)-\(s + c - 1)")
        ccurl_setopt_list(h, CURLOPT_HTTPHEADER, list)
        active[h] = (sink, list)
        curl_multi_add_handle(multi, h)
    }
    while next < ranges.count && active.count < concurrency { start() }
    while !active.isEmpty {
        var running: Int32 = 0
        curl_multi_perform(multi, &running)
        var left: Int32 = 0
        while let m = curl_multi_info_read(multi, &left) {
            let h = m.pointee.easy_handle!
            curl_multi_remove_handle(multi, h)
            curl_slist_free_all(active[h]!.1)
            active[h] = nil
            idle.append(h)
            if next < ranges.count { start() }
        }
        if !active.isEmpty { curl_multi_poll(multi, nil, 0, 1000, nil) }
    }
}

var latencies: [Double] = []
for _ in 0..<2000 {
    let s = Int.random(in: 0..<(size - 4096))
    let t0 = now()
    run([(s, 4096)], concurrency: 1)
    latencies.append(now() - t0)
}
latencies.sort()
print("curl latency 4KiB p50 \(Int(latencies[1000] * 1e6)) us p99 \(Int(latencies[1980] * 1e6)) us")
let parts = stride(from: 0, to: size, by: part).map { ($0, min(part, size - $0)) }
for concurrency in [1, 4, 8] {
    var best = 0.0
    for _ in 0..<3 {
        let t0 = now()
        run(parts, concurrency: concurrency)
        best = max(best, Double(size) / (now() - t0) / 1e9)
    }
    print("curl throughput 8MiB parts x\(concurrency): \((best * 100).rounded() / 100) GB/s")
}
