@testable import Mounting
import Synchronization
import Testing

@Suite struct LoadingProgressTests {
    @Test func eachEventShowsTheCountsSoFarAndTheLastRetry() {
        let lines = Mutex<[String]>([])
        let progress = LoadingProgress { line in lines.withLock { $0.append(line) } }
        progress.record(.listed(location: "s3://b/p/", objects: 3))
        progress.record(.fetchedHeader(object: "s3://b/p/a.safetensors"))
        progress.record(.retrying(object: "s3://b/p/b.safetensors", reason: "HTTP 503"))
        progress.record(.fetchedHeader(object: "s3://b/p/b.safetensors"))
        #expect(lines.withLock { $0 } == [
            "tensorfs: 3 objects found, 0 headers fetched",
            "tensorfs: 3 objects found, 1 header fetched",
            "tensorfs: 3 objects found, 1 header fetched; retrying b.safetensors (HTTP 503)",
            "tensorfs: 3 objects found, 2 headers fetched; retrying b.safetensors (HTTP 503)",
        ])
    }
}
