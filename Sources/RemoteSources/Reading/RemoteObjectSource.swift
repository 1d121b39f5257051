import ByteSources
import SafetensorsFormat

/// A remote object (over HTTP(S) or S3) as a byte source. Opening it fetches only its first
/// bytes (the header of a safetensors file, almost always); reads fetch the aligned parts they
/// touch, clipped to the extent being read, several at once; sequential reads get parts fetched
/// ahead of them; parts in memory (fetched, or read from the disk cache) are served without
/// another copy. All requests are conditional on the version seen at mount: if the object
/// changes, reads fail (the bridge answers EIO) and one log line names it (`MountedObject`).
public final class RemoteObjectSource: ByteSource {
    public let displayName: String
    public let size: UInt64
    public let modificationTime: Timestamp
    private let object: MountedObject
    private let context: RemoteContext
    private let parts: PartFetcher
    private let number: Int
    private let partSize: UInt64
    private let readahead: ReadaheadTracker

    private init(object: MountedObject, context: RemoteContext, costs: RequestCostModel) {
        displayName = object.displayName
        size = object.version.size
        modificationTime = object.version.lastModified.flatMap { HTTPDate.parse($0) } ?? HTTPDate.now()
        self.object = object
        self.context = context
        parts = PartFetcher(object: object, context: context, costs: costs)
        number = context.nextObjectNumber()
        partSize = context.settings.partSize
        readahead = ReadaheadTracker(settings: ReadaheadTracker.Settings(
            randomWindow: context.settings.randomReadSize, releaseLag: context.settings.partSize))
    }

    /// Opens the object at `endpoint`: one request for its first bytes, which also tells its
    /// size and version, and gives a first measure of what its requests cost. Hosts that cannot
    /// be reached fail at once; server errors are retried. An object whose changes could go
    /// unnoticed adds a warning to the context. A server that ignores byte ranges gets the
    /// object fetched whole instead (`WholeObjectSource`).
    static func open(_ endpoint: any ObjectEndpoint, context: RemoteContext) throws(ByteSourceError) -> any ByteSource {
        let capacity = Int(context.settings.headerProbeSize)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        let result = RangeFetch.fetch(
            endpoint: endpoint, version: nil, range: ByteRange(start: 0, end: UInt64(capacity)),
            into: BodyMemory(start: buffer.baseAddress!, count: capacity), transport: context.transport, policy: context.mountPolicy)
        switch result {
        case .success(let outcome):
            let head = Array(UnsafeRawBufferPointer(rebasing: buffer[..<outcome.count]))
            let object = MountedObject(endpoint: endpoint, version: outcome.version, head: head, partSize: context.settings.partSize, log: context.log)
            if let warning = object.undetectableChanges { context.warn(warning) }
            let costs = RequestCostModel(limits: context.settings.readaheadLimits)
            if let timing = outcome.timing { costs.record(timing, bytes: UInt64(outcome.count)) }
            return RemoteObjectSource(object: object, context: context, costs: costs)
        case .failure(.failed(let reason)):
            throw ByteSourceError(source: endpoint.displayName, reason: .remote(detail: reason))
        case .failure(.changed(let reason)):
            throw ByteSourceError(source: endpoint.displayName, reason: .changed(detail: reason))
        case .failure(.rangesIgnored(let head)):
            return try WholeObjectSource.open(endpoint, firstAnswer: head, context: context)
        }
    }

    // MARK: ByteSource

    public func copyBytes(in range: ByteRange) throws(ByteSourceError) -> [UInt8] {
        try checkBounds(range)
        if range.end <= UInt64(object.head.count) { return Array(object.head[Int(range.start)..<Int(range.end)]) }
        try object.throwIfChanged()
        var bytes = [UInt8](repeating: 0, count: Int(range.count))
        let failure = bytes.withUnsafeMutableBytes { buffer -> FetchFailure? in
            let result = RangeFetch.fetch(
                endpoint: object.endpoint, version: object.version, range: range,
                into: BodyMemory(start: buffer.baseAddress!, count: buffer.count), transport: context.transport, policy: context.readPolicy)
            return result.failure ?? object.headMismatch(UnsafeRawBufferPointer(buffer), at: range)
        }
        if let failure { throw object.error(for: failure) }
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
        try object.throwIfChanged()
        guard !range.isEmpty else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
        let extent = extent.contains(range) && extent.end <= size
            ? extent : ByteRange(start: 0, end: size)
        let windows = parts.costs.windows
        let decision = readahead.observe(range, within: extent, initialWindow: windows.initial, maximumWindow: windows.maximum)
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

    /// What a fetch for `wanted` (within `extent`) gets of `part`: `wanted` widened to whole
    /// blocks of the random read size, but never before the extent's start. Past the extent's
    /// end the block runs on, so that small tensors read in file order come in one request; the
    /// overshoot stays below one block.
    private func target(part: UInt64, wanted: ByteRange, extent: ByteRange) -> ByteRange? {
        let unit = max(1, min(context.settings.randomReadSize, partSize))
        let start = max(wanted.start / unit * unit, extent.start)
        let end = min(size, (wanted.end + unit - 1) / unit * unit)
        return parts.range(ofPart: part).clamped(to: ByteRange(start: start, end: max(start, end)))
    }

    /// The fragments holding `range`, one per part, fetching what is missing (all parts at once)
    /// and starting the read-ahead. When the read-ahead continues right after the read, a
    /// part the read fetches comes with the rest of its window too: a stream's first part then
    /// takes one request, not one per read.
    private func fragments(for range: ByteRange, within extent: ByteRange, ahead: ByteRange?) throws(ByteSourceError) -> [Fragment] {
        let firstPart = range.start / partSize
        let count = Int((range.end - 1) / partSize - firstPart) + 1
        var found = [Fragment?](repeating: nil, count: count)
        let needs = (0..<count).map { parts.range(ofPart: firstPart + UInt64($0)).clamped(to: range)! }
        let reach = ahead.map { $0.start == range.end ? (wide($0) ? extent.end : $0.end) : range.end } ?? range.end
        var readAheadStarted = false
        while true {
            var waits: [(index: Int, pending: PendingPart)] = []
            for index in 0..<count where found[index] == nil {
                let part = firstPart + UInt64(index)
                let key = PartKey(object: number, part: part)
                let wanted = ByteRange(start: needs[index].start, end: max(needs[index].end, reach))
                let target = target(part: part, wanted: wanted, extent: extent) ?? needs[index]
                switch context.store.claim(key, need: needs[index], target: target) {
                case .ready(let fragment):
                    found[index] = fragment
                case .wait(let pending):
                    waits.append((index, pending))
                case .fetch(let pending, let target, let existing):
                    parts.fill([PartFill(key: key, pending: pending, target: target, existing: existing, need: needs[index])], inBackground: false)
                    waits.append((index, pending))
                case .failed(let error):
                    throw error
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

    /// Whether a read-ahead window spans a part or more: then parts are fetched whole (to the
    /// extent's end), in requests the size the object's costs call for.
    private func wide(_ ahead: ByteRange) -> Bool {
        ahead.count >= partSize
    }

    /// Starts fetches of the parts of `ahead` that are neither there nor on their way, while
    /// the memory budget allows. Once the window spans a part, each part is fetched whole (to
    /// the extent's end) when the window first reaches it, together with the parts after it up
    /// to a request's span (`RequestCostModel`), past the window if need be: growing a part
    /// piece by piece would cost a request and a copy of the part per piece, and a server slow
    /// per request wants few large ones. (A run starts only within the window; one starting past
    /// it would be a part at a time as the window moves.)
    private func readAhead(_ ahead: ByteRange, within extent: ByteRange) {
        guard !ahead.isEmpty else { return }
        let wanted = wide(ahead) ? ByteRange(start: ahead.start, end: extent.end) : ahead
        let span = wide(ahead) ? parts.costs.span : 0
        func candidates(_ numbers: ClosedRange<UInt64>) -> [(key: PartKey, target: ByteRange)] {
            numbers.compactMap { part in
                target(part: part, wanted: wanted, extent: extent).map { (key: PartKey(object: number, part: part), target: $0) }
            }
        }
        var run: [PartFill] = []
        var runBytes: UInt64 = 0
        func add(_ candidates: [(key: PartKey, target: ByteRange)], _ claims: [PartStore.Fetch?]) {
            for (candidate, claim) in zip(candidates, claims) {
                if let claim {
                    run.append(PartFill(key: candidate.key, pending: claim.pending, target: claim.target, existing: claim.existing, need: candidate.target))
                    runBytes += claim.target.count
                }
                if claim == nil || runBytes >= span {
                    if !run.isEmpty { parts.fill(run, inBackground: true) }
                    run = []
                    runBytes = 0
                }
            }
        }
        let lastInWindow = (ahead.end - 1) / partSize
        let inWindow = candidates((ahead.start / partSize)...lastInWindow)
        add(inWindow, context.store.claimReadahead(inWindow))
        // The run open at the window's end goes on to its span.
        let lastInExtent = (wanted.end - 1) / partSize
        if !run.isEmpty, runBytes < span, lastInWindow < lastInExtent {
            let partsToGo = (span - runBytes + partSize - 1) / partSize
            let beyond = candidates((lastInWindow + 1)...min(lastInExtent, lastInWindow + partsToGo))
            add(beyond, context.store.claimReadahead(beyond, contiguous: true))
        }
        if !run.isEmpty { parts.fill(run, inBackground: true) }
    }

    /// Releases the parts that end within `passed`.
    private func release(_ passed: ByteRange) {
        guard passed.end >= partSize else { return }
        let first = passed.start / partSize
        let last = passed.end / partSize
        guard first < last else { return }
        for part in first..<last { context.store.release(PartKey(object: number, part: part)) }
    }

    // MARK: Errors

    private func checkBounds(_ range: ByteRange) throws(ByteSourceError) {
        guard range.end <= size else {
            throw ByteSourceError(source: displayName, reason: .outOfRange(range, size: size))
        }
    }
}
