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
/// Each buffer stays with the delivery until its part goes out, then with the part store; a
/// part goes out only once nothing writes into it any more, and a failed part's buffer goes
/// back to the pool only once all requests ended.
final class PartDelivery: Sendable {
    private struct State {
        /// The parts' fragments, each until it goes out (so that the store alone decides
        /// when its buffer goes back to the pool).
        var fragments: [Fragment?]
        /// How many parts went out, in order.
        var delivered = 0
        /// How many requests have not ended yet.
        var requests: Int
        /// The first failure, after which no part goes out but as that failure.
        var failure: FetchFailure?
    }

    private let fills: [PartFill]
    private let object: MountedObject
    private let context: RemoteContext
    private let state: Mutex<State>

    /// A delivery of `fills`, whose bytes `requests` requests write into `buffers` (one each).
    init(_ fills: [PartFill], buffers: [BufferPool.Buffer], requests: Int, object: MountedObject, context: RemoteContext) {
        self.fills = fills
        self.object = object
        self.context = context
        let fragments = zip(fills, buffers).map { fill, buffer in Fragment(range: fill.target, buffer: buffer, pool: context.buffers) }
        state = Mutex(State(fragments: fragments, requests: requests))
    }

    /// Learns that the object's bytes up to `end` are in place: the parts that end there or
    /// before go out.
    func arrived(upTo end: UInt64) {
        let ready = state.withLock { state -> [(Int, Fragment)] in
            var ready: [(Int, Fragment)] = []
            while state.failure == nil, state.delivered < fills.count, fills[state.delivered].target.end <= end {
                let index = state.delivered
                let fragment = state.fragments[index]!
                state.failure = mismatch(fragment)
                guard state.failure == nil else { break }
                ready.append((index, fragment))
                state.fragments[index] = nil
                state.delivered += 1
            }
            return ready
        }
        for (index, fragment) in ready { deliver(index, .success(fragment)) }
    }

    /// Learns that one request ended, with `failure` if it failed; once all have, the parts not
    /// out yet go, with their bytes or with the fill's failure.
    func requestEnded(_ failure: FetchFailure?) {
        let (rest, outcome) = state.withLock { state -> ([(Int, Fragment)], FetchFailure?) in
            state.requests -= 1
            if state.failure == nil { state.failure = failure }
            guard state.requests == 0 else { return ([], nil) }
            let rest = (state.delivered..<fills.count).map { ($0, state.fragments[$0]!) }
            if state.failure == nil { state.failure = rest.lazy.compactMap { self.mismatch($0.1) }.first }
            state.fragments = []
            state.delivered = fills.count
            return (rest, state.failure)
        }
        for (index, fragment) in rest {
            deliver(index, outcome.map { .failure($0) } ?? .success(fragment))
        }
    }

    /// Why `fragment` cannot be of the version mounted, if its bytes differ from those read then.
    private func mismatch(_ fragment: Fragment) -> FetchFailure? {
        object.headMismatch(fragment.bytes, at: fragment.range)
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
