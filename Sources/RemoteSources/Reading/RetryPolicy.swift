/// How long and how often a failed request is tried again: exponential backoff with jitter,
/// within a bound on the total time, after which the read fails.
struct RetryPolicy: Sendable {
    /// The most time, from the first attempt, that retries may take.
    var totalMilliseconds: UInt64
    /// The wait before the first retry (on average three quarters of it).
    var baseDelayMilliseconds: UInt64 = 100
    /// The longest wait between two attempts.
    var maximumDelayMilliseconds: UInt64 = 4_000
    /// Whether a host that cannot be reached at all is tried again: yes while serving reads (a
    /// server may restart), no when mounting (the user wants the answer now).
    var retriesUnreachableHosts: Bool
    /// Told of each retry: the object's name and why the last attempt failed.
    var onRetry: (@Sendable (_ object: String, _ reason: String) -> Void)?

    /// The wait before retry number `retry` (0 for the first): the capped exponential delay,
    /// its upper half drawn at random so that many clients do not retry in step; at least what
    /// a `Retry-After` asked for.
    func delay(beforeRetry retry: Int, retryAfterSeconds: Int? = nil, random: (UInt64) -> UInt64 = { UInt64.random(in: 0...$0) }) -> UInt64 {
        let exponential = baseDelayMilliseconds << UInt64(min(retry, 20))
        let cap = min(maximumDelayMilliseconds, exponential)
        let jittered = cap / 2 + random(cap / 2)
        let asked = retryAfterSeconds.map { UInt64(max(0, min($0, 3600))) * 1000 } ?? 0
        return max(jittered, asked)
    }
}
