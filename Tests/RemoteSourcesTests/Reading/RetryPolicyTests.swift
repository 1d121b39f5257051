@testable import RemoteSources
import Testing

@Suite struct RetryPolicyTests {
    private let policy = RetryPolicy(totalMilliseconds: 30_000, baseDelayMilliseconds: 100, maximumDelayMilliseconds: 4_000, retriesUnreachableHosts: true)

    @Test func delaysGrowExponentiallyUpToTheCapWithJitterInTheUpperHalf() {
        let lowest = (0..<8).map { policy.delay(beforeRetry: $0, random: { _ in 0 }) }
        let highest = (0..<8).map { policy.delay(beforeRetry: $0, random: { $0 }) }
        #expect(lowest == [50, 100, 200, 400, 800, 1600, 2000, 2000])
        #expect(highest == [100, 200, 400, 800, 1600, 3200, 4000, 4000])
        for retry in 0..<50 {
            let delay = policy.delay(beforeRetry: retry)
            #expect(delay >= lowest[min(retry, 7)] && delay <= highest[min(retry, 7)])
        }
    }

    @Test func aRetryAfterHeaderIsHonoured() {
        #expect(policy.delay(beforeRetry: 0, retryAfterSeconds: 3, random: { _ in 0 }) == 3000)
        #expect(policy.delay(beforeRetry: 7, retryAfterSeconds: 1, random: { $0 }) == 4000)
    }
}
