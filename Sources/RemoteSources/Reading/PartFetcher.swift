import ByteSources
import Dispatch
import SafetensorsFormat

/// A part to fill, as a claim on the part store handed it out.
struct PartFill: Sendable {
    /// The part.
    var key: PartKey
    /// The fetch that its readers wait for.
    var pending: PendingPart
    /// The range the part will hold.
    var target: ByteRange
    /// What the part holds already (inside `target`), which needs no fetching.
    var existing: Fragment?
    /// The bytes a reader waits for: a cache entry that holds them will do.
    var need: ByteRange
}

/// Fills the parts of one remote object: from the disk cache when an entry holds the bytes
/// needed, else by fetching. Parts that follow each other and hold nothing yet come with one
/// request, its body written straight into their buffers; a part that holds some bytes gets
/// what it lacks (the gaps around them, at once, into one buffer). `PartDelivery` hands
/// fetched parts to the part store and the cache.
struct PartFetcher: Sendable {
    /// The object.
    let object: MountedObject
    /// What the mount's remote sources share.
    let context: RemoteContext
    /// What the object's requests cost, which every fetch adds to.
    let costs: RequestCostModel

    /// Fills `fills`: from the disk cache where it holds their `need`, else by fetching. A
    /// fill `inBackground` (a read-ahead) does not hold up the calling reader with disk reads.
    func fill(_ fills: [PartFill], inBackground: Bool) {
        let work: @Sendable () -> Void = {
            var missing: [PartFill] = []
            for fill in fills {
                if let cached = loadFromCache(fill.key, need: fill.need) {
                    context.store.finish(fill.pending, of: fill.key, with: .success(cached))
                } else {
                    missing.append(fill)
                }
            }
            for run in Self.runs(of: missing) { fetch(run) }
        }
        if inBackground && context.cache != nil {
            DispatchQueue.global().async(execute: work)
        } else {
            work()
        }
    }

    /// The range part `part` spans in the object.
    func range(ofPart part: UInt64) -> ByteRange {
        let partSize = context.settings.partSize
        let start = part * partSize
        return ByteRange(start: start, end: min(start + partSize, object.version.size))
    }

    /// `fills`, in order, cut where one request cannot fetch them together: where their ranges
    /// do not meet, and around a part that holds bytes already.
    static func runs(of fills: [PartFill]) -> [[PartFill]] {
        var runs: [[PartFill]] = []
        for fill in fills {
            if fill.existing == nil, let last = runs.last?.last, last.existing == nil, last.target.end == fill.target.start {
                runs[runs.count - 1].append(fill)
            } else {
                runs.append([fill])
            }
        }
        return runs
    }

    private func loadFromCache(_ key: PartKey, need: ByteRange) -> Fragment? {
        guard let cache = context.cache, let cacheKey = object.cacheKey else { return nil }
        return cache.load(cacheKey.entry(key.part), identity: cacheKey.identity, covering: need, within: range(ofPart: key.part))
    }

    /// Fetches a run of parts: one request for all of them, whose parts go out as its body
    /// reaches their ends, or, for a part holding some bytes, one request for each gap around
    /// them.
    private func fetch(_ run: [PartFill]) {
        let buffers = run.map { context.buffers.take(count: Int($0.target.count)) }
        let memory = zip(run, buffers).map { UnsafeMutableRawBufferPointer(start: $1.pointer, count: Int($0.target.count)) }
        let requests: [(range: ByteRange, into: BodyMemory)]
        if run.count == 1, let existing = run[0].existing, let kept = existing.range.clamped(to: run[0].target) {
            let target = run[0].target
            let base = memory[0].baseAddress!
            (base + Int(kept.start - target.start)).copyMemory(from: existing.memory(of: kept).baseAddress!, byteCount: Int(kept.count))
            requests = [ByteRange(start: target.start, end: kept.start), ByteRange(start: kept.end, end: target.end)]
                .filter { !$0.isEmpty }
                .map { gap in (gap, BodyMemory(start: base + Int(gap.start - target.start), count: Int(gap.count))) }
        } else {
            requests = [(ByteRange(start: run[0].target.start, end: run[run.count - 1].target.end), BodyMemory(memory))]
        }
        let delivery = PartDelivery(run, buffers: buffers, requests: requests.count, object: object, context: context)
        let progress: (@Sendable (UInt64) -> Void)? = requests.count == 1 ? delivery.arrived : nil
        for request in requests {
            RangeFetch.start(
                endpoint: object.endpoint, version: object.version, range: request.range, into: request.into,
                transport: context.transport, policy: context.readPolicy, progress: progress
            ) { [costs] result in
                if case .success(let outcome) = result, let timing = outcome.timing {
                    costs.record(timing, bytes: UInt64(outcome.count))
                }
                delivery.requestEnded(result.failure)
            }
        }
    }
}

/// The queue that writes fetched parts to the disk cache, off the transport's thread.
enum CacheWriter {
    static let queue = DispatchQueue(label: "tensorfs.cache-writer")
}
