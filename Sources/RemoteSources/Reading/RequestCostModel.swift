import Synchronization

/// What requests for one object cost, as measured: the wait before each response (the server's
/// time per request plus the round trip) and the rate at which a body then arrives. Read-ahead
/// sizes its requests and its window by it, within its limits:
/// - a request asks for about twice what the body rate brings during one wait, in whole parts
///   (one at least), so that waiting is at most a third of a request's time. A server slow per
///   request gets few large requests: moto answers a ranged GET of a large object in about the
///   time it takes to send all of it. A fast server, or a near one, gets part-sized requests.
/// - a stream starts with two such requests ahead of the reader, so that its first part does
///   not share the bandwidth with many others; its window grows to four (never less than its
///   minimum), so that the next ones are under way while one arrives.
/// A request also stays short enough to arrive within a quarter of the time a read may take
/// (`--read-timeout`), at the rate measured, so that a slow server's large requests do not
/// run into the reads' deadline.
/// Until something is measured, requests are one part and the window its minimum.
final class RequestCostModel: Sendable {
    /// The bounds the model works within.
    struct Limits: Sendable {
        /// The unit of fetching: requests ask for whole parts.
        var partSize: UInt64
        /// The most one read-ahead request asks for.
        var maximumSpan: UInt64
        /// The window when requests are part-sized.
        var minimumWindow: UInt64
        /// The largest window.
        var maximumWindow: UInt64
        /// The longest a request's body should take to arrive, in seconds.
        var longestTransferSeconds: Double
    }

    private struct Estimate {
        var waitMicroseconds: Double?
        var bytesPerSecond: Double?
    }

    /// The model's bounds.
    let limits: Limits
    private let estimate = Mutex(Estimate())
    /// The span the estimate calls for, kept apart so that reads, which ask on every call,
    /// never wait for the lock that measurements take.
    private let currentSpan: Atomic<UInt64>

    /// How much a new measurement moves the estimate: enough to follow a server that slows
    /// down within a few requests, little enough that one late answer does not swing it.
    static let smoothing = 0.25
    /// Bodies shorter than this say little about the rate (the first packets, the clock's grain).
    static let shortestRateSample: UInt64 = 64 << 10

    /// A model with `limits`, knowing nothing yet.
    init(limits: Limits) {
        self.limits = limits
        currentSpan = Atomic(limits.partSize)
    }

    /// Takes in one request of `bytes` that took `timing`.
    func record(_ timing: TransferTiming, bytes: UInt64) {
        let wait = Double(timing.waitMicroseconds)
        let transfer = timing.totalMicroseconds - timing.waitMicroseconds
        let rate = bytes >= Self.shortestRateSample && transfer > 0 ? Double(bytes) * 1e6 / Double(transfer) : nil
        estimate.withLock { estimate in
            estimate.waitMicroseconds = Self.smoothed(estimate.waitMicroseconds, wait)
            if let rate { estimate.bytesPerSecond = Self.smoothed(estimate.bytesPerSecond, rate) }
            if let wait = estimate.waitMicroseconds, let rate = estimate.bytesPerSecond {
                currentSpan.store(span(wait: wait, rate: rate), ordering: .relaxed)
            }
        }
    }

    /// What one read-ahead request asks for: a whole number of parts.
    var span: UInt64 {
        currentSpan.load(ordering: .relaxed)
    }

    private func span(wait: Double, rate: Double) -> UInt64 {
        let part = Double(limits.partSize)
        let wanted = (2 * wait / 1e6 * rate / part).rounded(.up)
        let bound = (limits.longestTransferSeconds * rate / part).rounded(.down)
        let largest = (Double(limits.maximumSpan) / part).rounded(.down)
        return UInt64(max(1, min(wanted, bound, largest))) * limits.partSize
    }

    /// The windows for a read: the one a stream starts with (two requests' worth) and the
    /// largest (four requests' worth, within the limits).
    var windows: (initial: UInt64, maximum: UInt64) {
        let span = span
        let maximum = min(max(limits.minimumWindow, 4 * span), max(limits.minimumWindow, limits.maximumWindow))
        return (min(2 * span, maximum), maximum)
    }

    private static func smoothed(_ old: Double?, _ new: Double) -> Double {
        old.map { $0 + smoothing * (new - $0) } ?? new
    }
}
