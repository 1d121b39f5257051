@testable import RemoteSources
import ByteSources
import SafetensorsFormat
import Testing

@Suite struct PartStoreTests {
    private func fragment(_ start: UInt64, _ end: UInt64) -> Fragment {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: Int(end - start), alignment: 16)
        return Fragment(range: ByteRange(start: start, end: end), memory: memory, pool: nil)
    }

    private func range(_ start: UInt64, _ end: UInt64) -> ByteRange { ByteRange(start: start, end: end) }

    @Test func oneFetchPerPartAtATimeAndItsResultServesLaterReaders() {
        let store = PartStore(budget: 1000)
        let key = PartKey(object: 1, part: 0)
        guard case .fetch(let pending, let target, let existing) = store.claim(key, need: range(0, 10), target: range(0, 100)) else {
            Issue.record("the first reader fetches")
            return
        }
        #expect(target == range(0, 100) && existing == nil)
        guard case .wait(let same) = store.claim(key, need: range(50, 60), target: range(0, 100)) else {
            Issue.record("a second reader waits")
            return
        }
        #expect(same === pending)
        store.finish(pending, of: key, with: .success(fragment(0, 100)))
        guard case .ready(let found) = store.claim(key, need: range(50, 60), target: range(0, 100)) else {
            Issue.record("the part is there")
            return
        }
        #expect(found.range == range(0, 100))
    }

    @Test func aFetchWidensThePartAroundWhatIsThere() {
        let store = PartStore(budget: 1000)
        let key = PartKey(object: 1, part: 0)
        guard case .fetch(let first, _, _) = store.claim(key, need: range(40, 50), target: range(40, 50)) else { return }
        store.finish(first, of: key, with: .success(fragment(40, 50)))
        guard case .fetch(_, let target, let existing) = store.claim(key, need: range(80, 90), target: range(80, 90)) else {
            Issue.record("bytes outside the fragment need a fetch")
            return
        }
        #expect(target == range(40, 90))
        #expect(existing?.range == range(40, 50))
    }

    @Test func theLeastRecentlyUsedPartsGoPastTheBudgetAndFailuresKeepNothing() {
        let store = PartStore(budget: 250)
        for part: UInt64 in 0..<3 {
            let key = PartKey(object: 7, part: part)
            guard case .fetch(let pending, _, _) = store.claim(key, need: range(part * 100, part * 100 + 100), target: range(part * 100, part * 100 + 100)) else { return }
            store.finish(pending, of: key, with: .success(fragment(part * 100, part * 100 + 100)))
        }
        #expect(store.residentBytes == 200)
        if case .ready = store.claim(PartKey(object: 7, part: 0), need: range(0, 1), target: range(0, 100)) {
            Issue.record("the oldest part was evicted")
        }
        let failing = PartKey(object: 8, part: 0)
        guard case .fetch(let pending, _, _) = store.claim(failing, need: range(0, 1), target: range(0, 1)) else { return }
        store.finish(pending, of: failing, with: .failure(ByteSourceError(source: "x", reason: .remote(detail: "boom"))))
        guard case .fetch = store.claim(failing, need: range(0, 1), target: range(0, 1)) else {
            Issue.record("after a failure the next reader fetches again")
            return
        }
    }

    @Test func readAheadIsAdmittedWhileFetchesTakeUnderHalfTheBudget() {
        let store = PartStore(budget: 1000)
        #expect(store.admitsReadahead(500))
        _ = store.claim(PartKey(object: 1, part: 0), need: range(0, 400), target: range(0, 400))
        #expect(store.admitsReadahead(100))
        #expect(!store.admitsReadahead(101))
    }
}
