@testable import RemoteSources
import SafetensorsFormat
import Testing

@Suite struct ReadaheadTrackerTests {
    private let MiB: UInt64 = 1 << 20
    private func tracker() -> ReadaheadTracker {
        ReadaheadTracker(settings: .init(randomWindow: MiB, releaseLag: 8 * MiB))
    }

    private func range(_ start: UInt64, _ end: UInt64) -> ByteRange { ByteRange(start: start, end: end) }

    /// A read of `range` within `extent`, with windows of 16 MiB at an extent's start, 32 MiB at most.
    private func observe(_ tracker: ReadaheadTracker, _ range: ByteRange, within extent: ByteRange) -> ReadaheadTracker.Decision {
        tracker.observe(range, within: extent, initialWindow: 16 * MiB, maximumWindow: 32 * MiB)
    }

    @Test func aReadFromTheStartOfItsExtentReadsAheadTheInitialWindowWithinTheExtent() {
        let extent = range(1000, 1000 + 10 * MiB)
        let decision = observe(tracker(), range(1000, 1000 + MiB), within: extent)
        #expect(decision.ahead == range(1000 + MiB, 1000 + 10 * MiB))
        let large = observe(tracker(), range(0, MiB), within: range(0, 1 << 30))
        #expect(large.ahead == range(MiB, 17 * MiB))
        let small = observe(tracker(), range(5, 100), within: range(5, 100))
        #expect(small.ahead == nil)
    }

    @Test func aRandomReadDoesNotReadAheadButItsFollowerDoesAndTheWindowGrowsWithReading() {
        let tracker = tracker()
        let extent = range(0, 1 << 30)
        #expect(observe(tracker, range(100 * MiB, 100 * MiB + 4096), within: extent).ahead == nil)
        let second = observe(tracker, range(100 * MiB + 4096, 100 * MiB + 8192), within: extent)
        #expect(second.ahead == range(100 * MiB + 8192, 100 * MiB + 8192 + MiB + 4096))
        var window: UInt64 = 0
        var offset = 100 * MiB + 8192
        for _ in 0..<100 {
            window = observe(tracker, range(offset, offset + MiB), within: extent).ahead!.count
            offset += MiB
        }
        #expect(window == 32 * MiB)
    }

    @Test func readsOfOtherExtentsKeepTheirOwnStreams() {
        let tracker = tracker()
        let first = range(0, 64 * MiB)
        let second = range(64 * MiB, 128 * MiB)
        _ = observe(tracker, range(0, MiB), within: first)
        _ = observe(tracker, range(64 * MiB, 65 * MiB), within: second)
        #expect(observe(tracker, range(MiB, 2 * MiB), within: first).ahead?.start == 2 * MiB)
        #expect(observe(tracker, range(65 * MiB, 66 * MiB), within: second).ahead?.start == 66 * MiB)
    }

    @Test func whatAStreamLeftBehindIsPassedOnForRelease() {
        let tracker = tracker()
        let extent = range(0, 1 << 30)
        var released: [ByteRange] = []
        for step: UInt64 in 0..<20 {
            if let passed = observe(tracker, range(step * MiB, (step + 1) * MiB), within: extent).passed { released.append(passed) }
        }
        #expect(released.first?.start == 0)
        #expect(released.last?.end == 11 * MiB)
        #expect(zip(released, released.dropFirst()).allSatisfy { $0.end == $1.start })
    }
}
