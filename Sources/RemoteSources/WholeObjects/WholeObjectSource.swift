import ByteSources
import SafetensorsFormat
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A remote object whose server ignores byte ranges (it answers a range request with the whole
/// file): fetched whole, once, when it is opened, into a file of the disk cache when there is
/// one (and kept there for later mounts when its version can be told), else into memory within
/// the mount's budget. Every read is served from there: no 200 is ever taken for a range.
final class WholeObjectSource: ByteSource {
    let displayName: String
    let size: UInt64
    let modificationTime: Timestamp
    private let bytes: WholeObjectBytes

    private init(displayName: String, bytes: WholeObjectBytes, version: ObjectVersion) {
        self.displayName = displayName
        self.bytes = bytes
        size = version.size
        modificationTime = version.lastModified.flatMap { HTTPDate.parse($0) } ?? HTTPDate.now()
    }

    /// Fetches the object at `endpoint` whole, its server having answered the first range
    /// request with `firstAnswer` (a 200, the whole object). Adds one warning per mount.
    static func open(_ endpoint: any ObjectEndpoint, firstAnswer: ResponseHead, context: RemoteContext) throws(ByteSourceError) -> WholeObjectSource {
        let size = endpoint.listed?.size ?? firstAnswer.contentLength
        guard size != 0 else {
            throw ByteSourceError(source: endpoint.displayName, reason: .changed(detail: "it was announced empty, and the server sent more than the range asked for"))
        }
        let fetched: (bytes: WholeObjectBytes, version: ObjectVersion)
        if let cache = context.cache, let size {
            let identity = cacheIdentity(endpoint, firstAnswer: firstAnswer, size: size)
            if let identity, let cached = cache.loadWhole(identity: identity) {
                let version = ObjectVersion(size: size, etag: firstAnswer.etag, lastModified: firstAnswer.lastModified)
                fetched = (.cacheFile(cached), version)
            } else {
                var outcome: Result<FetchOutcome, FetchFailure>?
                let stored = Result { () throws(WholeEntryError) -> MappedCacheFile in
                    try cache.storeWhole(identity: identity, size: size) { buffer in
                        outcome = fetch(endpoint, into: buffer, firstAnswer: firstAnswer, expectedSize: size, context: context)
                        return (try? outcome?.get()) != nil
                    }
                }
                switch (stored, outcome) {
                case (.success(let file), .success(let fetchedOutcome)?):
                    fetched = (.cacheFile(file), fetchedOutcome.version)
                case (_, .failure(let failure)?):
                    throw error(failure, endpoint: endpoint)
                case (.failure(let problem), _):
                    throw ByteSourceError(source: endpoint.displayName, reason: .remote(detail: "the server ignores byte ranges, and the file cannot be kept in the cache: \(problem)"))
                case (.success, nil):
                    throw ByteSourceError(source: endpoint.displayName, reason: .remote(detail: "the server ignores byte ranges, and the file was not fetched"))
                }
            }
        } else {
            fetched = try fetchIntoMemory(endpoint, firstAnswer: firstAnswer, size: size, context: context)
        }
        if context.wholeObjects.shouldWarn() {
            let place = context.cache == nil ? "in memory (--cache-dir keeps such files on disk)" : "in the cache directory"
            context.warn("\(endpoint.displayName): the server ignores byte ranges (it answered a range request with the whole file): files from it are fetched whole, once, when mounted, and kept \(place)")
        }
        return WholeObjectSource(displayName: endpoint.displayName, bytes: fetched.bytes, version: fetched.version)
    }

    /// The object at `endpoint` from the disk cache, without a request, when an earlier mount
    /// fetched it whole there: only for a listed object, whose size and identity are known
    /// before asking the server.
    static func cached(_ endpoint: any ObjectEndpoint, context: RemoteContext) -> WholeObjectSource? {
        guard let cache = context.cache, let size = endpoint.listed?.size,
              let identity = cacheIdentity(endpoint, firstAnswer: nil, size: size),
              let file = cache.loadWhole(identity: identity) else { return nil }
        return WholeObjectSource(displayName: endpoint.displayName, bytes: .cacheFile(file), version: ObjectVersion(size: size, etag: nil, lastModified: nil))
    }

    /// What names the object's bytes for the cache: what a listing said of it, else its
    /// location with the validators of the server's first answer; nil when neither can tell one
    /// version from the next.
    private static func cacheIdentity(_ endpoint: any ObjectEndpoint, firstAnswer: ResponseHead?, size: UInt64) -> String? {
        let version = firstAnswer.map { ObjectVersion(size: size, etag: $0.etag, lastModified: $0.lastModified) }
        let named = endpoint.listed.map { "listed \($0.identity)" } ?? version.flatMap { $0.isIdentifiable ? $0.identity : nil }
        return named.map { "tensorfs whole object 1\n\(endpoint.locationIdentity)\n\($0)\nsize \(size)" }
    }

    private static func fetchIntoMemory(
        _ endpoint: any ObjectEndpoint, firstAnswer: ResponseHead, size: UInt64?, context: RemoteContext
    ) throws(ByteSourceError) -> (bytes: WholeObjectBytes, version: ObjectVersion) {
        let objects = context.wholeObjects
        guard let capacity = objects.takeMemory(size), capacity > 0 else {
            throw ByteSourceError(source: endpoint.displayName, reason: .remote(detail: "the server ignores byte ranges, and the file (\(size ?? 0) bytes) is larger than the \(objects.memoryAvailable) bytes of memory left for whole files (--prefetch-memory); give a --cache-dir to keep it on disk"))
        }
        guard let memory = AnonymousMemory(capacity: Int(capacity), releasing: objects) else {
            objects.giveMemory(capacity)
            throw ByteSourceError(source: endpoint.displayName, reason: .remote(detail: "cannot reserve \(capacity) bytes of memory: \(Errno.current)"))
        }
        switch fetch(endpoint, into: memory.buffer, firstAnswer: firstAnswer, expectedSize: size, context: context) {
        case .success(let outcome):
            memory.keep(UInt64(outcome.count))
            return (.memory(memory), outcome.version)
        case .failure(let failure):
            throw error(failure, endpoint: endpoint)
        }
    }

    private static func fetch(
        _ endpoint: any ObjectEndpoint, into buffer: UnsafeMutableRawBufferPointer, firstAnswer: ResponseHead, expectedSize: UInt64?, context: RemoteContext
    ) -> Result<FetchOutcome, FetchFailure> {
        // A whole file takes longer than a part: allow for it at 4 MiB/s at least.
        var policy = context.mountPolicy
        policy.totalMilliseconds += UInt64(buffer.count) / (4 << 20) * 1000
        let fetch = WholeObjectFetch(endpoint: endpoint, into: buffer, firstAnswer: firstAnswer, expectedSize: expectedSize)
        return RetryLoop.run(fetch, transport: context.transport, policy: policy)
    }

    private static func error(_ failure: FetchFailure, endpoint: any ObjectEndpoint) -> ByteSourceError {
        if case .changed(let reason) = failure { return ByteSourceError(source: endpoint.displayName, reason: .changed(detail: reason)) }
        return ByteSourceError(source: endpoint.displayName, reason: .remote(detail: "the server ignores byte ranges, and fetching the whole file failed: \(failure)"))
    }

    // MARK: ByteSource

    func copyBytes(in range: ByteRange) throws(ByteSourceError) -> [UInt8] {
        var copy = [UInt8](repeating: 0, count: Int(range.count))
        try copy.withUnsafeMutableBufferPointer { (buffer) throws(ByteSourceError) in try copyBytes(in: range, into: UnsafeMutableRawBufferPointer(buffer)) }
        return copy
    }

    func copyBytes(in range: ByteRange, into buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError) {
        try checkBounds(range)
        guard !range.isEmpty else { return }
        switch bytes {
        case .memory(let memory):
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: memory.bytes[Int(range.start)..<Int(range.end)]))
        case .cacheFile(let file):
            let done: Int
            do {
                done = try file.descriptor.readFully(into: buffer, at: Int(range.start))
            } catch {
                throw ByteSourceError(source: displayName, reason: .system(call: "read", error))
            }
            guard done == buffer.count else {
                throw ByteSourceError(source: displayName, reason: .changed(detail: "its file in the cache was truncated"))
            }
        }
    }

    func withMemory<Result>(
        of range: ByteRange,
        _ body: (UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(ByteSourceError) -> Result
    ) throws(ByteSourceError) -> Result {
        try checkBounds(range)
        let all = switch bytes {
        case .memory(let memory): memory.bytes
        case .cacheFile(let file): file.bytes
        }
        var piece = range.isEmpty ? UnsafeRawBufferPointer(start: nil, count: 0) : UnsafeRawBufferPointer(rebasing: all[Int(range.start)..<Int(range.end)])
        return try withUnsafePointer(to: &piece) { (pointer) throws(ByteSourceError) -> Result in
            try body(UnsafeBufferPointer(start: pointer, count: 1))
        }
    }

    private func checkBounds(_ range: ByteRange) throws(ByteSourceError) {
        guard range.end <= size else {
            throw ByteSourceError(source: displayName, reason: .outOfRange(range, size: size))
        }
    }
}

/// Where a whole object's bytes are.
private enum WholeObjectBytes: Sendable {
    case memory(AnonymousMemory)
    case cacheFile(MappedCacheFile)
}

/// Memory reserved for a whole object (pages are taken only as bytes arrive), its size taken
/// from a budget and given back when it goes.
private final class AnonymousMemory: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer
    private let budget: WholeObjects
    private var charged: UInt64

    init?(capacity: Int, releasing budget: WholeObjects) {
        guard capacity > 0 else {
            buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
            self.budget = budget
            charged = 0
            return
        }
        guard let mapping = mmap(nil, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0), mapping != MAP_FAILED else { return nil }
        buffer = UnsafeMutableRawBufferPointer(start: mapping, count: capacity)
        self.budget = budget
        charged = UInt64(capacity)
    }

    /// The object's bytes, once `keep` has said how many there are.
    private(set) var bytes = UnsafeRawBufferPointer(start: nil, count: 0)

    /// Keeps the first `count` bytes, giving back the budget beyond them.
    func keep(_ count: UInt64) {
        bytes = UnsafeRawBufferPointer(rebasing: buffer[..<Int(count)])
        budget.giveMemory(charged - count)
        charged = count
    }

    deinit {
        if let base = buffer.baseAddress { munmap(base, buffer.count) }
        budget.giveMemory(charged)
    }
}
