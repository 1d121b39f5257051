import ByteSources
import SafetensorsFormat
import Synchronization

/// A part of an object: objects are read in aligned parts of a fixed size.
struct PartKey: Hashable, Sendable {
    /// The object's number in its context.
    var object: Int
    /// The part's number: it spans `[part * partSize, (part + 1) * partSize)`.
    var part: UInt64
}

/// A fetch of a part in flight, which any number of readers wait for.
final class PendingPart: Sendable {
    /// The fragment, or why it could not be had.
    let outcome = Completion<Result<Fragment, ByteSourceError>>()
}

/// The fetched parts of all objects of a mount, in memory within a budget: the least recently
/// used go first. Each part holds one fragment, a contiguous range of it; a fetch widens it.
/// At most one fetch per part runs at a time; parts of one object are fetched in parallel.
///
/// A failed fetch is remembered for a few seconds: reads of the bytes it was after, and of those
/// the reads that waited for it were after, fail at once with its error instead of trying
/// again. The kernel retries a read that failed, and without this memory each try would wait
/// out the whole read timeout again (a read that waited for another read's fetch of the same
/// part, which failed, included).
final class PartStore: Sendable {
    /// What a reader should do about a part.
    enum Claim {
        /// The bytes are there.
        case ready(Fragment)
        /// Another fetch of the part runs: wait for it, then claim again.
        case wait(PendingPart)
        /// The caller fetches: the part's range `target` (which holds `existing`, if any, whose
        /// bytes need no fetching), then calls `finish`.
        case fetch(PendingPart, target: ByteRange, existing: Fragment?)
        /// A fetch of these bytes failed moments ago, with this error.
        case failed(ByteSourceError)
    }

    /// A fetch a read-ahead claimed: as `Claim.fetch`.
    struct Fetch {
        /// What the part's readers wait for.
        var pending: PendingPart
        /// What the fetch gets.
        var target: ByteRange
        /// What the part holds already.
        var existing: Fragment?
    }

    /// A part's fetch under way.
    private struct InFlight {
        var pending: PendingPart
        /// What the fetch gets.
        var range: ByteRange
        /// The span of what the fetch gets and what the reads waiting for it need: what a
        /// failure of the fetch fails for a while.
        var needs: ByteRange
    }

    private struct Slot {
        var fragment: Fragment?
        var inFlight: InFlight?
        var failure: (range: ByteRange, error: ByteSourceError, until: UInt64)?
    }

    private struct State {
        var slots: [PartKey: Slot] = [:]
        var recency = RecencyList<PartKey>()
        var inFlightBytes: UInt64 = 0

        /// Forgets the slot of `key` once it holds nothing: no fragment, no fetch, no failure.
        mutating func dropIfEmpty(_ key: PartKey) {
            if let slot = slots[key], slot.fragment == nil, slot.inFlight == nil, slot.failure == nil { slots[key] = nil }
        }
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> UInt64
    /// The most fetched bytes kept in memory.
    let budget: UInt64
    /// How long a failed fetch is remembered, in milliseconds.
    let failureMemory: UInt64

    /// How long a failed fetch is remembered by default: long enough for the kernel's retry of
    /// a failed read, short enough that a reader trying again a little later gets a new fetch.
    static let defaultFailureMemory: UInt64 = 2_000

    /// A store keeping at most `budget` bytes (a part being read can exceed it briefly) that
    /// remembers failures for `failureMemory` milliseconds of `now`'s clock.
    init(budget: UInt64, failureMemory: UInt64 = PartStore.defaultFailureMemory, now: @escaping @Sendable () -> UInt64 = MonotonicClock.milliseconds) {
        self.budget = budget
        self.failureMemory = failureMemory
        self.now = now
    }

    /// What to do to read `need` of part `key`; a fetch would get `target` (which holds `need`).
    func claim(_ key: PartKey, need: ByteRange, target: ByteRange) -> Claim {
        state.withLock { claim(key, need: need, target: target, in: &$0) }
    }

    /// Claims for read-ahead, in order, each of `parts` (a part and what a fetch of it would
    /// get) that is neither there nor on its way, while fetches in flight take at most half the
    /// budget: the first that does not fit ends the claiming, and so, when `contiguous`, does
    /// the first that is there or on its way. One lock for all of them, since every read asks
    /// about its whole window.
    func claimReadahead(_ parts: [(key: PartKey, target: ByteRange)], contiguous: Bool = false) -> [Fetch?] {
        state.withLock { state in
            var claims: [Fetch?] = []
            for part in parts {
                guard state.inFlightBytes + part.target.count <= budget / 2 else { break }
                guard case .fetch(let pending, let target, let existing) = claim(part.key, need: part.target, target: part.target, in: &state) else {
                    if contiguous { break }
                    claims.append(nil)
                    continue
                }
                claims.append(Fetch(pending: pending, target: target, existing: existing))
            }
            return claims + Array(repeating: nil, count: parts.count - claims.count)
        }
    }

    private func claim(_ key: PartKey, need: ByteRange, target: ByteRange, in state: inout State) -> Claim {
        var slot = state.slots[key] ?? Slot()
        if let fragment = slot.fragment, fragment.covers(need) {
            state.recency.touch(key)
            return .ready(fragment)
        }
        if var inFlight = slot.inFlight {
            inFlight.needs = ByteRange(start: min(inFlight.needs.start, need.start), end: max(inFlight.needs.end, need.end))
            slot.inFlight = inFlight
            state.slots[key] = slot
            return .wait(inFlight.pending)
        }
        if let failure = slot.failure {
            if now() < failure.until {
                if failure.range.clamped(to: need) != nil { return .failed(failure.error) }
            } else {
                slot.failure = nil
            }
        }
        let existing = slot.fragment
        let widened = existing.map { ByteRange(start: min($0.range.start, target.start), end: max($0.range.end, target.end)) } ?? target
        let pending = PendingPart()
        slot.inFlight = InFlight(pending: pending, range: widened, needs: widened)
        state.inFlightBytes += widened.count
        state.slots[key] = slot
        return .fetch(pending, target: widened, existing: existing)
    }

    /// Ends the fetch `pending` of `key`: stores the fragment (evicting the least recently used
    /// parts past the budget) and wakes the waiters.
    func finish(_ pending: PendingPart, of key: PartKey, with result: Result<Fragment, ByteSourceError>) {
        state.withLock { state in
            guard var slot = state.slots[key], let inFlight = slot.inFlight, inFlight.pending === pending else { return }
            state.inFlightBytes -= inFlight.range.count
            slot.inFlight = nil
            switch result {
            case .success(let fragment):
                slot.fragment = fragment
                slot.failure = nil
                state.recency.touch(key, weight: fragment.range.count)
            case .failure(let error):
                slot.failure = (inFlight.needs, error, now() + failureMemory)
            }
            state.slots[key] = slot.fragment == nil && slot.failure == nil ? nil : slot
            for victim in state.recency.evict(downTo: budget, keeping: key) {
                state.slots[victim]?.fragment = nil
                state.dropIfEmpty(victim)
            }
        }
        pending.outcome.finish(result)
    }

    /// Drops the fragment of `key` (readers that hold it keep it until they are done).
    func release(_ key: PartKey) {
        state.withLock { state in
            guard state.slots[key]?.fragment != nil else { return }
            state.recency.remove(key)
            state.slots[key]?.fragment = nil
            state.dropIfEmpty(key)
        }
    }

    /// How many bytes are held now, for tests and logs.
    var residentBytes: UInt64 {
        state.withLock { $0.recency.totalWeight }
    }
}

