import ByteSources
import Dispatch
import SafetensorsFormat

/// Fills the parts of one remote object: from the disk cache when an entry holds the bytes
/// needed, else by fetching what the part lacks (the gaps around the bytes it already holds, at
/// once, into one buffer), which then goes to the cache. Each fill ends with `finish` on the
/// part store.
struct PartFetcher: Sendable {
    /// The object.
    let object: MountedObject
    /// What the mount's remote sources share.
    let context: RemoteContext

    /// Fills part `key` with `target`: from the disk cache if it holds `need`, else by fetching
    /// the bytes of `target` that `existing` lacks. A fill `inBackground` (a read-ahead) does
    /// not hold up the calling reader with disk reads.
    func fill(_ key: PartKey, pending: PendingPart, target: ByteRange, existing: Fragment?, need: ByteRange, inBackground: Bool) {
        let work: @Sendable () -> Void = {
            if let cached = loadFromCache(key, need: need) {
                context.store.finish(pending, of: key, with: .success(cached))
            } else {
                fetch(key, pending: pending, target: target, existing: existing)
            }
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

    private func loadFromCache(_ key: PartKey, need: ByteRange) -> Fragment? {
        guard let cache = context.cache, let cacheKey = object.cacheKey else { return nil }
        return cache.load(cacheKey.entry(key.part), identity: cacheKey.identity, covering: need, within: range(ofPart: key.part))
    }

    private func fetch(_ key: PartKey, pending: PendingPart, target: ByteRange, existing: Fragment?) {
        let buffer = context.buffers.take(count: Int(target.count))
        let memory = buffer.pointer
        var gaps = [target]
        if let existing, let kept = existing.range.clamped(to: target) {
            (memory + Int(kept.start - target.start)).copyMemory(from: existing.memory(of: kept).baseAddress!, byteCount: Int(kept.count))
            gaps = [ByteRange(start: target.start, end: kept.start), ByteRange(start: kept.end, end: target.end)].filter { !$0.isEmpty }
        }
        let gathering = GapGathering(count: gaps.count) { [context, object] failure in
            let fragment = Fragment(range: target, buffer: buffer, pool: context.buffers)
            if let failure = failure ?? object.headMismatch(fragment.bytes, at: target) {
                context.store.finish(pending, of: key, with: .failure(object.error(for: failure)))
                return
            }
            // Queued before the readers wake, so that a daemon exiting after its last read
            // finds the write queued and waits for it.
            if let cache = context.cache, let cacheKey = object.cacheKey {
                CacheWriter.queue.async {
                    cache.store(fragment, as: cacheKey.entry(key.part), identity: cacheKey.identity)
                }
            }
            context.store.finish(pending, of: key, with: .success(fragment))
        }
        for gap in gaps {
            RangeFetch.start(
                endpoint: object.endpoint, version: object.version, range: gap, into: memory + Int(gap.start - target.start),
                transport: context.transport, policy: context.readPolicy
            ) { result in
                gathering.record(result.failure)
            }
        }
    }
}

/// The queue that writes fetched parts to the disk cache, off the transport's thread.
enum CacheWriter {
    static let queue = DispatchQueue(label: "tensorfs.cache-writer")
}
