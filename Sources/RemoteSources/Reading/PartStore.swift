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
    }

    private struct Slot {
        var fragment: Fragment?
        var pending: PendingPart?
        var pendingBytes: UInt64 = 0
    }

    private struct State {
        var slots: [PartKey: Slot] = [:]
        var recency = RecencyList<PartKey>()
        var inFlightBytes: UInt64 = 0
    }

    private let state = Mutex(State())
    /// The most fetched bytes kept in memory.
    let budget: UInt64

    /// A store keeping at most `budget` bytes (a part being read can exceed it briefly).
    init(budget: UInt64) {
        self.budget = budget
    }

    /// What to do to read `need` of part `key`; a fetch would get `target` (which holds `need`).
    func claim(_ key: PartKey, need: ByteRange, target: ByteRange) -> Claim {
        state.withLock { state in
            var slot = state.slots[key] ?? Slot()
            if let fragment = slot.fragment, fragment.covers(need) {
                state.recency.touch(key)
                return .ready(fragment)
            }
            if let pending = slot.pending { return .wait(pending) }
            let existing = slot.fragment
            let widened = existing.map { ByteRange(start: min($0.range.start, target.start), end: max($0.range.end, target.end)) } ?? target
            let pending = PendingPart()
            slot.pending = pending
            slot.pendingBytes = widened.count
            state.inFlightBytes += widened.count
            state.slots[key] = slot
            return .fetch(pending, target: widened, existing: existing)
        }
    }

    /// Whether a read-ahead of `bytes` more fits: fetches in flight take at most half the budget.
    func admitsReadahead(_ bytes: UInt64) -> Bool {
        state.withLock { $0.inFlightBytes + bytes <= budget / 2 }
    }

    /// Ends the fetch `pending` of `key`: stores the fragment (evicting the least recently used
    /// parts past the budget) and wakes the waiters.
    func finish(_ pending: PendingPart, of key: PartKey, with result: Result<Fragment, ByteSourceError>) {
        state.withLock { state in
            guard var slot = state.slots[key], slot.pending === pending else { return }
            state.inFlightBytes -= slot.pendingBytes
            slot.pending = nil
            slot.pendingBytes = 0
            if case .success(let fragment) = result {
                slot.fragment = fragment
                state.recency.touch(key, weight: fragment.range.count)
            }
            state.slots[key] = slot.fragment == nil ? nil : slot
            for victim in state.recency.evict(downTo: budget, keeping: key) {
                state.slots[victim]?.fragment = nil
                if state.slots[victim]?.pending == nil { state.slots[victim] = nil }
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
            if state.slots[key]?.pending == nil { state.slots[key] = nil }
        }
    }

    /// How many bytes are held now, for tests and logs.
    var residentBytes: UInt64 {
        state.withLock { $0.recency.totalWeight }
    }
}
