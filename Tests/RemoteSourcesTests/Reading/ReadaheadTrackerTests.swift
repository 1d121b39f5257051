@testable import RemoteSources
import SafetensorsFormat
import Testing

@Suite struct ReadaheadTrackerTests {
    private let MiB: UInt64 = 1 << 20
    private func tracker() -> ReadaheadTracker {
        ReadaheadTracker(settings: .init(initialWindow: 8 * MiB, randomWindow: MiB, releaseLag: 8 * MiB))
    }

    private func range(_ start: UInt64, _ end: UInt64) -> ByteRange { ByteRange(start: start, end: end) }

    @Test func aReadFromTheStartOfItsExtentReadsAheadAtOnceWithinTheExtent() {
        let extent = range(1000, 1000 + 20 * MiB)
        let decision = tracker().observe(range(1000, 1000 + MiB), within: extent, maximumWindow: 32 * MiB)
        #expect(decision.ahead == range(1000 + MiB, 1000 + 9 * MiB))
        let small = tracker().observe(range(5, 100), within: range(5, 100), maximumWindow: 32 * MiB)
        #expect(small.ahead == nil)
    }

    @Test func aRandomReadDoesNotReadAheadButItsFollowerDoesAndTheWindowGrowsWithReading() {
        let tracker = tracker()
        let extent = range(0, 1 << 30)
        #expect(tracker.observe(range(100 * MiB, 100 * MiB + 4096), within: extent, maximumWindow: 32 * MiB).ahead == nil)
        let second = tracker.observe(range(100 * MiB + 4096, 100 * MiB + 8192), within: extent, maximumWindow: 32 * MiB)
        #expect(second.ahead == range(100 * MiB + 8192, 100 * MiB + 8192 + MiB + 4096))
        var window: UInt64 = 0
        var offset = 100 * MiB + 8192
        for _ in 0..<100 {
            window = tracker.observe(range(offset, offset + MiB), within: extent, maximumWindow: 32 * MiB).ahead!.count
            offset += MiB
        }
        #expect(window == 32 * MiB)
    }

    @Test func readsOfOtherExtentsKeepTheirOwnStreams() {
        let tracker = tracker()
        let first = range(0, 64 * MiB)
        let second = range(64 * MiB, 128 * MiB)
        _ = tracker.observe(range(0, MiB), within: first, maximumWindow: 32 * MiB)
        _ = tracker.observe(range(64 * MiB, 65 * MiB), within: second, maximumWindow: 32 * MiB)
        #expect(tracker.observe(range(MiB, 2 * MiB), within: first, maximumWindow: 32 * MiB).ahead?.start == 2 * MiB)
        #expect(tracker.observe(range(65 * MiB, 66 * MiB), within: second, maximumWindow: 32 * MiB).ahead?.start == 66 * MiB)
    }

    @Test func whatAStreamLeftBehindIsPassedOnForRelease() {
        let tracker = tracker()
        let extent = range(0, 1 << 30)
        var released: [ByteRange] = []
        for step: UInt64 in 0..<20 {
            if let passed = tracker.observe(range(step * MiB, (step + 1) * MiB), within: extent, maximumWindow: 32 * MiB).passed { released.append(passed) }
        }
        #expect(released.first?.start == 0)
        #expect(released.last?.end == 11 * MiB)
        #expect(zip(released, released.dropFirst()).allSatisfy { $0.end == $1.start })
    }
}
