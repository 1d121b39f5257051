@testable import RemoteSources
import Testing

@Suite struct RequestCostModelTests {
    private let MiB: UInt64 = 1 << 20
    private func model() -> RequestCostModel {
        RequestCostModel(limits: .init(partSize: 8 * MiB, maximumSpan: 128 * MiB, minimumWindow: 64 * MiB, maximumWindow: 128 * MiB, longestTransferSeconds: 15))
    }

    /// A request of `bytes` answered after `waitMilliseconds`, whose body came at `megabytesPerSecond`.
    private func timing(waitMilliseconds: Double, bytes: UInt64, megabytesPerSecond: Double) -> TransferTiming {
        let wait = UInt64(waitMilliseconds * 1000)
        return TransferTiming(waitMicroseconds: wait, totalMicroseconds: wait + UInt64(Double(bytes) / megabytesPerSecond))
    }

    @Test func untilSomethingIsMeasuredRequestsAreOnePartAndTheWindowItsMinimum() {
        let costs = model()
        #expect(costs.span == 8 * MiB && costs.windows.initial == 16 * MiB && costs.windows.maximum == 64 * MiB)
    }

    @Test func aFastNearServerGetsPartSizedRequests() {
        let costs = model()
        costs.record(timing(waitMilliseconds: 0.3, bytes: 8 * MiB, megabytesPerSecond: 1500), bytes: 8 * MiB)
        #expect(costs.span == 8 * MiB && costs.windows.maximum == 64 * MiB)
    }

    @Test func aServerSlowPerRequestGetsTheLargestRequestsAndWindow() {
        let costs = model()
        costs.record(timing(waitMilliseconds: 1500, bytes: 8 * MiB, megabytesPerSecond: 400), bytes: 8 * MiB)
        #expect(costs.span == 128 * MiB && costs.windows.initial == 128 * MiB && costs.windows.maximum == 128 * MiB)
    }

    @Test func requestsAreWholePartsAboutTwiceWhatTheBodyBringsDuringAWait() {
        let costs = model()
        // 20 ms at 500 MB/s: 10 MB per wait, 20 MB wanted, three parts.
        costs.record(timing(waitMilliseconds: 20, bytes: 8 * MiB, megabytesPerSecond: 500), bytes: 8 * MiB)
        #expect(costs.span == 24 * MiB)
        #expect(costs.windows.initial == 48 * MiB, "two requests ahead at first")
        #expect(costs.windows.maximum == 96 * MiB, "four requests ahead")
    }

    @Test func aShortBodySaysNothingAboutTheRate() {
        let costs = model()
        costs.record(TransferTiming(waitMicroseconds: 1_500_000, totalMicroseconds: 1_500_001), bytes: 4096)
        #expect(costs.span == 8 * MiB, "a wait alone does not size requests")
        costs.record(timing(waitMilliseconds: 1500, bytes: 8 * MiB, megabytesPerSecond: 400), bytes: 8 * MiB)
        #expect(costs.span == 128 * MiB)
    }

    @Test func oneLateAnswerMovesTheEstimateOnlyPartOfTheWay() {
        let costs = model()
        for _ in 0..<10 { costs.record(timing(waitMilliseconds: 1, bytes: 8 * MiB, megabytesPerSecond: 1000), bytes: 8 * MiB) }
        costs.record(timing(waitMilliseconds: 100, bytes: 8 * MiB, megabytesPerSecond: 1000), bytes: 8 * MiB)
        // The wait estimate moves a quarter of the way, to about 26 ms: 52 MB wanted, seven parts.
        #expect(costs.span == 56 * MiB)
        for _ in 0..<20 { costs.record(timing(waitMilliseconds: 1, bytes: 8 * MiB, megabytesPerSecond: 1000), bytes: 8 * MiB) }
        #expect(costs.span == 8 * MiB, "and back once answers are quick again")
    }

    @Test func aRequestsBodyStaysWithinAQuarterOfTheReadTimeout() {
        let costs = model()
        // 40 s before each answer, then 2 MB/s: 160 MB wanted, but 15 s bring 30 MB.
        costs.record(timing(waitMilliseconds: 40_000, bytes: 8 * MiB, megabytesPerSecond: 2), bytes: 8 * MiB)
        #expect(costs.span == 24 * MiB)
    }
}
