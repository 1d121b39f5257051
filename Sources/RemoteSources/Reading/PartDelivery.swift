import ByteSources
import SafetensorsFormat
import Synchronization

/// Hands the parts of one fill to the part store (and the disk cache) once their bytes are in:
/// each part of a run as soon as the body has reached its end, so that a reader waiting for
/// the first part of a long request does not wait for the rest, and the others when the
/// fill's requests have all ended. Only checked bytes arrive here (see `RangeFetch`); the
/// bytes read at mount are compared with a part before it goes out, and once a comparison or
/// a request fails, no part of the fill goes out but as that failure.
///
/// The buffers stay with the delivery until their parts go out; the requests hold the
/// delivery, so a buffer goes back to the pool only once nothing writes into it.
final class PartDelivery: Sendable {
    private let fills: [PartFill]
    private let fragments: [Fragment]
    private let object: MountedObject
    private let context: RemoteContext
    private let state: Mutex<(delivered: Int, requests: Int, failure: FetchFailure?)>

    /// A delivery of `fills`, whose bytes `requests` requests write into `buffers` (one each).
    init(_ fills: [PartFill], buffers: [BufferPool.Buffer], requests: Int, object: MountedObject, context: RemoteContext) {
        self.fills = fills
        fragments = zip(fills, buffers).map { fill, buffer in Fragment(range: fill.target, buffer: buffer, pool: context.buffers) }
        self.object = object
        self.context = context
        state = Mutex((0, requests, nil))
    }

    /// Learns that the object's bytes up to `end` are in place: the parts that end there or
    /// before go out.
    func arrived(upTo end: UInt64) {
        let ready = state.withLock { state in
            let first = state.delivered
            while state.failure == nil, state.delivered < fills.count, fills[state.delivered].target.end <= end {
                state.failure = mismatch(state.delivered)
                if state.failure == nil { state.delivered += 1 }
            }
            return first..<state.delivered
        }
        for index in ready { deliver(index, .success(fragments[index])) }
    }

    /// Learns that one request ended, with `failure` if it failed; once all have, the parts not
    /// out yet go, with their bytes or with the fill's failure.
    func requestEnded(_ failure: FetchFailure?) {
        let (rest, outcome) = state.withLock { state -> (Range<Int>, FetchFailure?) in
            state.requests -= 1
            if state.failure == nil { state.failure = failure }
            guard state.requests == 0 else { return (0..<0, nil) }
            let rest = state.delivered..<fills.count
            if state.failure == nil { state.failure = rest.lazy.compactMap(self.mismatch).first }
            state.delivered = fills.count
            return (rest, state.failure)
        }
        for index in rest {
            deliver(index, outcome.map { .failure($0) } ?? .success(fragments[index]))
        }
    }

    /// Why part `index` cannot be of the version mounted, if its bytes differ from those read then.
    private func mismatch(_ index: Int) -> FetchFailure? {
        object.headMismatch(fragments[index].bytes, at: fragments[index].range)
    }

    private func deliver(_ index: Int, _ outcome: Result<Fragment, FetchFailure>) {
        let fill = fills[index]
        switch outcome {
        case .success(let fragment):
            // Queued before the readers wake, so that a daemon exiting after its last read
            // finds the write queued and waits for it.
            if let cache = context.cache, let cacheKey = object.cacheKey {
                CacheWriter.queue.async {
                    cache.store(fragment, as: cacheKey.entry(fill.key.part), identity: cacheKey.identity)
                }
            }
            context.store.finish(fill.pending, of: fill.key, with: .success(fragment))
        case .failure(let failure):
            context.store.finish(fill.pending, of: fill.key, with: .failure(object.error(for: failure)))
        }
    }
}
