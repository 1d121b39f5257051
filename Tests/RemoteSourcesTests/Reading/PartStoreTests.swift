@testable import RemoteSources
import ByteSources
import SafetensorsFormat
import Synchronization
import Testing

@Suite struct PartStoreTests {
    private func range(_ start: UInt64, _ end: UInt64) -> ByteRange { ByteRange(start: start, end: end) }

    private let boom = ByteSourceError(source: "x", reason: .remote(detail: "boom"))

    @Test func oneFetchPerPartAtATimeAndItsResultServesLaterReaders() throws {
        let store = PartStore(budget: 1000)
        let key = PartKey(object: 1, part: 0)
        let fetch = try #require(store.claim(key, need: range(0, 10), target: range(0, 100)).fetch, "the first reader fetches")
        #expect(fetch.target == range(0, 100) && fetch.existing == nil)
        let same = try #require(store.claim(key, need: range(50, 60), target: range(0, 100)).waiting, "a second reader waits")
        #expect(same === fetch.pending)
        store.finish(fetch.pending, of: key, with: .success(makeFragment(range(0, 100))))
        let found = try #require(store.claim(key, need: range(50, 60), target: range(0, 100)).ready, "the part is there")
        #expect(found.range == range(0, 100))
    }

    @Test func aFetchWidensThePartAroundWhatIsThere() throws {
        let store = PartStore(budget: 1000)
        let key = PartKey(object: 1, part: 0)
        let first = try #require(store.claim(key, need: range(40, 50), target: range(40, 50)).fetch)
        store.finish(first.pending, of: key, with: .success(makeFragment(range(40, 50))))
        let second = try #require(store.claim(key, need: range(80, 90), target: range(80, 90)).fetch, "bytes outside the fragment need a fetch")
        #expect(second.target == range(40, 90))
        #expect(second.existing?.range == range(40, 50))
    }

    @Test func theLeastRecentlyUsedPartsGoPastTheBudget() throws {
        let store = PartStore(budget: 250)
        for part: UInt64 in 0..<3 {
            let key = PartKey(object: 7, part: part)
            let fetch = try #require(store.claim(key, need: range(part * 100, part * 100 + 100), target: range(part * 100, part * 100 + 100)).fetch)
            store.finish(fetch.pending, of: key, with: .success(makeFragment(range(part * 100, part * 100 + 100))))
        }
        #expect(store.residentBytes == 200)
        #expect(store.claim(PartKey(object: 7, part: 0), need: range(0, 1), target: range(0, 100)).ready == nil, "the oldest part was evicted")
    }

    @Test func aFailureFailsReadsOfItsBytesAtOnceUntilItIsForgotten() throws {
        let clock = Mutex<UInt64>(0)
        let store = PartStore(budget: 1000, failureMemory: 5_000, now: { clock.withLock { $0 } })
        let key = PartKey(object: 8, part: 0)
        let fetch = try #require(store.claim(key, need: range(0, 10), target: range(0, 100)).fetch)
        store.finish(fetch.pending, of: key, with: .failure(boom))
        #expect(store.residentBytes == 0)
        clock.withLock { $0 = 4_999 }
        let remembered = try #require(store.claim(key, need: range(90, 95), target: range(0, 100)).failedWith, "the kernel's retry fails at once")
        #expect(remembered.description.contains("boom"))
        clock.withLock { $0 = 5_000 }
        #expect(store.claim(key, need: range(90, 95), target: range(0, 100)).fetch != nil, "after a while a read tries again")
    }

    @Test func aReadThatWaitedForAFetchThatFailedFailsAtOnceOnItsRetry() throws {
        let store = PartStore(budget: 1000)
        let key = PartKey(object: 8, part: 0)
        let fetch = try #require(store.claim(key, need: range(500, 600), target: range(500, 600)).fetch)
        #expect(store.claim(key, need: range(0, 10), target: range(0, 100)).waiting === fetch.pending, "another read waits for that fetch")
        store.finish(fetch.pending, of: key, with: .failure(boom))
        #expect(store.claim(key, need: range(0, 10), target: range(0, 100)).failedWith != nil, "its retry fails at once")
        #expect(store.claim(key, need: range(700, 710), target: range(700, 800)).fetch != nil, "bytes nobody waited for are fetched")
    }

    @Test func aFailureLeavesOtherBytesOfThePartToBeFetched() throws {
        let store = PartStore(budget: 1000)
        let key = PartKey(object: 8, part: 0)
        let fetch = try #require(store.claim(key, need: range(0, 10), target: range(0, 100)).fetch)
        store.finish(fetch.pending, of: key, with: .failure(boom))
        #expect(store.claim(key, need: range(100, 110), target: range(100, 200)).fetch != nil)
    }

    @Test func readAheadClaimsWhatIsMissingWhileFetchesTakeUnderHalfTheBudget() throws {
        let store = PartStore(budget: 1000)
        let ready = try #require(store.claim(PartKey(object: 1, part: 1), need: range(100, 200), target: range(100, 200)).fetch)
        store.finish(ready.pending, of: PartKey(object: 1, part: 1), with: .success(makeFragment(range(100, 200))))
        _ = store.claim(PartKey(object: 1, part: 2), need: range(200, 300), target: range(200, 300))
        let parts = (0..<8).map { (key: PartKey(object: 1, part: UInt64($0)), target: range(UInt64($0) * 100, UInt64($0) * 100 + 100)) }
        let claims = store.claimReadahead(parts)
        #expect(claims.map { $0 != nil } == [true, false, false, true, true, true, false, false],
                "parts there or on their way are skipped; claiming stops once 500 bytes are in flight")
        #expect(claims[0]?.target == range(0, 100))
    }
}

extension PartStore.Claim {
    /// The fetch the caller is to make, if that is the claim.
    var fetch: (pending: PendingPart, target: ByteRange, existing: Fragment?)? {
        if case .fetch(let pending, let target, let existing) = self { return (pending, target, existing) }
        return nil
    }

    /// The fetch to wait for, if that is the claim.
    var waiting: PendingPart? {
        if case .wait(let pending) = self { return pending }
        return nil
    }

    /// The fragment that is there, if that is the claim.
    var ready: Fragment? {
        if case .ready(let fragment) = self { return fragment }
        return nil
    }

    /// The remembered failure, if that is the claim.
    var failedWith: ByteSourceError? {
        if case .failed(let error) = self { return error }
        return nil
    }
}
