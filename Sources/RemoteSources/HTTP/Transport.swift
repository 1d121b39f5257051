/// Sends HTTP requests and tells how each one ended: the seam under every fetch. The libcurl
/// engine (`TransferEngine`) is the transport of a mount; tests script one.
protocol Transport: AnyObject, Sendable {
    /// Sends `exchange.request` once `delay` milliseconds have passed, stores a 2xx body as
    /// `exchange.sink` says, and calls `exchange.completion` exactly once, on any thread. A
    /// transfer still running at `exchange.deadline` ends then, as interrupted.
    func send(_ exchange: Exchange, afterMilliseconds delay: UInt64)
}

/// One request to send: where its body goes, when it must be over, and who hears how it ended.
struct Exchange: Sendable {
    /// The request.
    var request: HTTPRequest
    /// Where a 2xx body goes.
    var sink: BodySink
    /// When the transfer is ended if it still runs (monotonic milliseconds).
    var deadline: UInt64
    /// Called, on the transport's thread, each time more of a 2xx body is in a `.memory` sink:
    /// with the response's head and how many bytes are stored so far.
    var onBody: (@Sendable (ResponseHead, Int) -> Void)? = nil
    /// Called once with how the exchange ended.
    var completion: @Sendable (TransferResult) -> Void
}

/// Where a response body goes.
enum BodySink: @unchecked Sendable {
    /// Into caller-owned memory, which must outlive the transfer; a longer body aborts the
    /// transfer.
    case memory(BodyMemory)
    /// Into an array, up to `limit` bytes; a longer body aborts the transfer.
    case collect(limit: Int)
}

/// How an exchange ended.
struct TransferResult: Sendable {
    /// The response's status and headers (status 0 when no response arrived).
    var head: ResponseHead
    /// Body bytes stored in the sink (of a 2xx response).
    var received: Int
    /// The collected body of a 2xx response (for `.collect` sinks), or the start of the body of
    /// any other response (S3 explains errors there).
    var body: [UInt8]
    /// Why the transfer did not complete, or nil when the response arrived whole.
    var failure: TransportFailure?
    /// How long the exchange took, when the transport measures it.
    var timing: TransferTiming?
}

/// How long one exchange took: the wait for the response (the server's time per request, plus
/// the round trip) and the whole exchange, body included.
struct TransferTiming: Hashable, Sendable {
    /// Microseconds from sending the request to the response's first byte.
    var waitMicroseconds: UInt64
    /// Microseconds from sending the request to the body's last byte.
    var totalMicroseconds: UInt64
}

/// A transfer that did not complete.
struct TransportFailure: Error, Sendable, CustomStringConvertible {
    /// What kind of failure it was, which decides whether to try again.
    enum Kind: Sendable {
        /// No server could be reached at all: a refused connection, an unknown host.
        case unreachable
        /// The exchange broke off (a timeout, a reset, a body cut short): trying again may work.
        case interrupted
        /// The body was longer than the sink could take.
        case overflowed
        /// Trying again would fail the same way (or the mount is ending).
        case permanent
    }

    /// What kind of failure it was.
    var kind: Kind
    /// One phrase for the user (it names hosts and ports, never credentials).
    var message: String

    var description: String { message }

    /// Whether the request may be tried again: the network, not the request, failed.
    var isTransient: Bool { kind == .unreachable || kind == .interrupted }
}
