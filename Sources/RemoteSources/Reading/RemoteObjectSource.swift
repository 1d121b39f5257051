import ByteSources
import Dispatch
import SafetensorsFormat
import Synchronization


/// A remote object (over HTTP(S) or S3) as a byte source. Opening it fetches only its first
/// bytes (the header of a safetensors file, almost always); reads fetch the aligned parts they
/// touch, clipped to the extent being read, several at once; sequential reads get parts fetched
/// ahead of them; fetched parts are served from memory or the disk cache without another copy.
/// All requests are conditional on the version seen at mount: if the object changes, reads fail
/// (the bridge answers EIO) and one log line names it.
public final class RemoteObjectSource: ByteSource {
    public let displayName: String
    public let size: UInt64
    public let modificationTime: Timestamp
    private let endpoint: any ObjectEndpoint
    private let version: ObjectVersion
    private let head: [UInt8]
    private let context: RemoteContext
    private let number: Int
    private let partSize: UInt64
    private let cacheIdentity: (object: String, identity: String)?
    private let readahead: ReadaheadTracker
    private let changed = Mutex<ByteSourceError?>(nil)

    private init(endpoint: any ObjectEndpoint, version: ObjectVersion, head: [UInt8], context: RemoteContext) {
        displayName = endpoint.displayName
        size = version.size
        modificationTime = version.lastModified.flatMap { HTTPDate.parse($0) } ?? HTTPDate.now()
        self.endpoint = endpoint
        self.version = version
        self.head = head
        self.context = context
        number = context.nextObjectNumber()
        partSize = context.settings.partSize
        if version.isIdentifiable {
            let identity = "tensorfs part cache 1\n\(endpoint.locationIdentity)\n\(version.identity)\npart size \(partSize)"
            cacheIdentity = (XXHash64.hash(identity).paddedHex, identity)
        } else {
            cacheIdentity = nil
        }
        readahead = ReadaheadTracker(settings: ReadaheadTracker.Settings(
            initialWindow: context.settings.partSize, randomWindow: context.settings.randomReadSize,
            maximumWindow: context.settings.maximumReadahead, releaseLag: context.settings.partSize))
    }

    /// Opens the object at `endpoint`: one request for its first bytes, which also tells its
    /// size and version. Hosts that cannot be reached fail at once; server errors are retried.
    static func open(_ endpoint: any ObjectEndpoint, context: RemoteContext) throws(ByteSourceError) -> RemoteObjectSource {
        let capacity = Int(context.settings.headerProbeSize)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        let result = RangeFetch.fetch(
            endpoint: endpoint, version: nil, range: ByteRange(start: 0, end: UInt64(capacity)), into: buffer.baseAddress!,
            engine: context.engine, policy: context.mountPolicy)
        switch result {
        case .success(let outcome):
            let head = Array(UnsafeRawBufferPointer(rebasing: buffer[..<outcome.count]))
            return RemoteObjectSource(endpoint: endpoint, version: outcome.version, head: head, context: context)
        case .failure(.failed(let reason)):
            throw ByteSourceError(source: endpoint.displayName, reason: .remote(detail: reason))
        case .failure(.changed(let reason)):
            throw ByteSourceError(source: endpoint.displayName, reason: .changed(detail: reason))
        }
    }

    // MARK: ByteSource

    public func copyBytes(in range: ByteRange) throws(ByteSourceError) -> [UInt8] {
        try checkBounds(range)
        if range.end <= UInt64(head.count) { return Array(head[Int(range.start)..<Int(range.end)]) }
        try throwIfChanged()
        var bytes = [UInt8](repeating: 0, count: Int(range.count))
        let result = bytes.withUnsafeMutableBytes { buffer in
            RangeFetch.fetch(
                endpoint: endpoint, version: version, range: range, into: buffer.baseAddress!,
                engine: context.engine, policy: context.readPolicy)
        }
        if case .failure(let failure) = result { throw error(for: failure) }
        return bytes
    }

    /// Copies through the object's parts, as reads of the mount do: a gather of many short runs
    /// (a rank's strided slice) takes a few part requests rather than one request per run.
    public func copyBytes(in range: ByteRange, into buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError) {
        precondition(UInt64(buffer.count) == range.count, "the buffer must hold the range exactly")
        try withMemory(of: range) { pieces in
            var offset = 0
            for piece in pieces {
                UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<offset + piece.count]).copyMemory(from: piece)
                offset += piece.count
            }
        }
    }

    public func withMemory<Result>(
        of range: ByteRange,
        _ body: (UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(ByteSourceError) -> Result
    ) throws(ByteSourceError) -> Result {
        try withMemory(of: range, within: ByteRange(start: 0, end: size), body)
    }

    public func withMemory<Result>(
        of range: ByteRange,
        within extent: ByteRange,
        _ body: (UnsafeBufferPointer<UnsafeRawBufferPointer>) throws(ByteSourceError) -> Result
    ) throws(ByteSourceError) -> Result {
        try checkBounds(range)
        try throwIfChanged()
        guard !range.isEmpty else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
        let extent = extent.contains(range) && extent.end <= size
            ? extent : ByteRange(start: 0, end: size)
        let decision = readahead.observe(range, within: extent)
        let fragments = try fragments(for: range, within: extent, ahead: decision.ahead)
        if let passed = decision.passed { release(passed) }
        return try withUnsafeTemporaryAllocation(of: UnsafeRawBufferPointer.self, capacity: fragments.count) { (pieces) throws(ByteSourceError) -> Result in
            for (index, fragment) in fragments.enumerated() {
                pieces[index] = fragment.memory(of: fragment.range.clamped(to: range)!)
            }
            // The fragments stay referenced until the body has replied from them.
            return try withExtendedLifetime(fragments) { () throws(ByteSourceError) -> Result in
                try body(UnsafeBufferPointer(pieces))
            }
        }
    }

    public func maximumPieceCount(for range: ByteRange) -> Int {
        range.isEmpty ? 1 : Int((range.end - 1) / partSize - range.start / partSize) + 1
    }

    // MARK: Parts

    private func partRange(_ part: UInt64) -> ByteRange {
        let start = part * partSize
        return ByteRange(start: start, end: min(start + partSize, size))
    }

    /// What a fetch for `wanted` (within `extent`) gets of `part`: `wanted` widened to whole
    /// blocks of the random read size, but never before the extent's start. Past the extent's
    /// end the block runs on, so that small tensors read in file order come in one request; the
    /// overshoot stays below one block.
    private func target(part: UInt64, wanted: ByteRange, extent: ByteRange) -> ByteRange? {
        let unit = max(1, min(context.settings.randomReadSize, partSize))
        let start = max(wanted.start / unit * unit, extent.start)
        let end = min(size, (wanted.end + unit - 1) / unit * unit)
        return partRange(part).clamped(to: ByteRange(start: start, end: max(start, end)))
    }

    /// The fragments holding `range`, one per part, fetching what is missing (all parts at once)
    /// and starting the read-ahead.
    private func fragments(for range: ByteRange, within extent: ByteRange, ahead: ByteRange?) throws(ByteSourceError) -> [Fragment] {
        let firstPart = range.start / partSize
        let count = Int((range.end - 1) / partSize - firstPart) + 1
        var found = [Fragment?](repeating: nil, count: count)
        let needs = (0..<count).map { partRange(firstPart + UInt64($0)).clamped(to: range)! }
        var readAheadStarted = false
        while true {
            var waits: [(index: Int, pending: PendingPart)] = []
            for index in 0..<count where found[index] == nil {
                let part = firstPart + UInt64(index)
                let key = PartKey(object: number, part: part)
                let target = target(part: part, wanted: needs[index], extent: extent) ?? needs[index]
                switch context.store.claim(key, need: needs[index], target: target) {
                case .ready(let fragment):
                    found[index] = fragment
                case .wait(let pending):
                    waits.append((index, pending))
                case .fetch(let pending, let target, let existing):
                    startFetch(key, pending: pending, target: target, existing: existing, need: needs[index], inBackground: false)
                    waits.append((index, pending))
                }
            }
            if !readAheadStarted {
                readAheadStarted = true
                if let ahead { readAhead(ahead, within: extent) }
            }
            if waits.isEmpty { break }
            for (index, pending) in waits {
                switch pending.outcome.wait() {
                case .success(let fragment):
                    if fragment.covers(needs[index]) { found[index] = fragment }
                case .failure(let error):
                    throw error
                }
            }
        }
        return found.map { $0! }
    }

    /// Starts fetches of the parts of `ahead` that are neither there nor on their way, while
    /// the memory budget allows. Once the window spans a part, each part is fetched whole (to
    /// the extent's end) when the window first reaches it: growing a part piece by piece would
    /// cost a request and a copy of the part per piece.
    private func readAhead(_ ahead: ByteRange, within extent: ByteRange) {
        guard !ahead.isEmpty else { return }
        let wanted = ahead.count >= partSize ? ByteRange(start: ahead.start, end: extent.end) : ahead
        for part in (ahead.start / partSize)...((ahead.end - 1) / partSize) {
            guard let target = target(part: part, wanted: wanted, extent: extent), context.store.admitsReadahead(target.count) else { return }
            let key = PartKey(object: number, part: part)
            if case .fetch(let pending, let widened, let existing) = context.store.claim(key, need: target, target: target) {
                startFetch(key, pending: pending, target: widened, existing: existing, need: target, inBackground: true)
            }
        }
    }

    /// Releases the parts that end within `passed`.
    private func release(_ passed: ByteRange) {
        guard passed.end >= partSize else { return }
        let first = passed.start / partSize
        let last = passed.end / partSize
        guard first < last else { return }
        for part in first..<last { context.store.release(PartKey(object: number, part: part)) }
    }

    /// Fills part `key` with `target`: from the disk cache if it holds `need`, else by fetching
    /// the bytes of `target` that `existing` lacks. Ends with `finish` on the store.
    private func startFetch(_ key: PartKey, pending: PendingPart, target: ByteRange, existing: Fragment?, need: ByteRange, inBackground: Bool) {
        let work: @Sendable () -> Void = { [self] in
            if let cache = context.cache, let cacheIdentity,
               let cached = cache.load(CacheEntryName(object: cacheIdentity.object, part: key.part), identity: cacheIdentity.identity, covering: need) {
                context.store.finish(pending, of: key, with: .success(cached))
                return
            }
            fetch(key, pending: pending, target: target, existing: existing)
        }
        // A read-ahead must not hold up the read that started it with disk reads.
        if inBackground && context.cache != nil {
            DispatchQueue.global().async(execute: work)
        } else {
            work()
        }
    }

    private func fetch(_ key: PartKey, pending: PendingPart, target: ByteRange, existing: Fragment?) {
        let (memory, pooled) = context.buffers.take(count: Int(target.count))
        nonisolated(unsafe) let buffer = memory
        var gaps = [target]
        if let existing, let kept = existing.range.clamped(to: target) {
            (buffer + Int(kept.start - target.start)).copyMemory(from: existing.memory(of: kept).baseAddress!, byteCount: Int(kept.count))
            gaps = [ByteRange(start: target.start, end: kept.start), ByteRange(start: kept.end, end: target.end)].filter { !$0.isEmpty }
        }
        let gathering = GapGathering(count: gaps.count) { [self] failure in
            if let failure {
                if pooled { context.buffers.give(buffer) } else { buffer.deallocate() }
                context.store.finish(pending, of: key, with: .failure(error(for: failure)))
                return
            }
            let fragment = Fragment(range: target, memory: buffer, pool: pooled ? context.buffers : nil)
            context.store.finish(pending, of: key, with: .success(fragment))
            if let cache = context.cache, let cacheIdentity {
                CacheWriter.queue.async {
                    cache.store(fragment, as: CacheEntryName(object: cacheIdentity.object, part: key.part), identity: cacheIdentity.identity)
                }
            }
        }
        for gap in gaps {
            RangeFetch(
                endpoint: endpoint, version: version, range: gap, into: buffer + Int(gap.start - target.start),
                engine: context.engine, policy: context.readPolicy
            ) { result in
                gathering.record(result.failure)
            }.start()
        }
    }

    // MARK: Errors

    private func checkBounds(_ range: ByteRange) throws(ByteSourceError) {
        guard range.end <= size else {
            throw ByteSourceError(source: displayName, reason: .outOfRange(range, size: size))
        }
    }

    private func throwIfChanged() throws(ByteSourceError) {
        if let failure = changed.withLock({ $0 }) { throw failure }
    }

    /// The error for `failure`; a change is remembered (later reads fail at once) and logged once.
    private func error(for failure: FetchFailure) -> ByteSourceError {
        switch failure {
        case .failed(let reason):
            return ByteSourceError(source: displayName, reason: .remote(detail: reason))
        case .changed(let reason):
            let error = ByteSourceError(source: displayName, reason: .changed(detail: reason))
            let isFirst = changed.withLock { stored in
                defer { if stored == nil { stored = error } }
                return stored == nil
            }
            if isFirst {
                context.log.write(.error, "\(displayName) changed on the server since it was mounted (\(reason)); its reads fail with EIO until it is mounted again")
            }
            return error
        }
    }
}

/// Waits for the fetches of a part's gaps, which write into one buffer: the buffer is released
/// only after all of them ended.
private final class GapGathering: Sendable {
    private let state: Mutex<(remaining: Int, failure: FetchFailure?)>
    private let done: @Sendable (FetchFailure?) -> Void

    init(count: Int, done: @escaping @Sendable (FetchFailure?) -> Void) {
        state = Mutex((count, nil))
        self.done = done
    }

    func record(_ failure: FetchFailure?) {
        let finished = state.withLock { state -> (Bool, FetchFailure?) in
            state.remaining -= 1
            if state.failure == nil { state.failure = failure }
            return (state.remaining == 0, state.failure)
        }
        if finished.0 { done(finished.1) }
    }
}

/// The queue that writes fetched parts to the disk cache, off the engine's thread.
enum CacheWriter {
    static let queue = DispatchQueue(label: "tensorfs.cache-writer")
}

extension Result {
    /// The error of a failure, or nil.
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
