/// Why bytes could not be fetched.
enum FetchFailure: Error, Sendable, CustomStringConvertible {
    /// The object is not the version that was mounted.
    case changed(String)
    /// The request failed for good (after any retries), for this reason.
    case failed(String)
    /// The server answered a request for part of the object with all of it (a 200), longer than
    /// asked for: it ignores byte ranges. `head` is its answer.
    case rangesIgnored(ResponseHead)

    var description: String {
        switch self {
        case .changed(let reason), .failed(let reason): reason
        case .rangesIgnored(let head): "the server ignores byte ranges (it answered a range request with \(head.statusText))"
        }
    }
}

/// What a fetch makes of one answer.
enum FetchVerdict<Value> {
    /// The fetch is over.
    case finished(Result<Value, FetchFailure>)
    /// Ask again after a backoff, if the time for the fetch allows; `reason` is what went wrong.
    case retry(because: String)
    /// Not the fetch's own business: the loop's rules apply (redirects, refusals after a
    /// redirect, throttling and server errors, transport failures, anything else fails).
    case unhandled
}

/// One kind of fetch that `RetryLoop` drives: it says what to ask for next and judges answers.
protocol RetriedFetch: AnyObject, SendableMetatype {
    /// What the fetch ends with.
    associatedtype Value: Sendable
    /// Where the fetch asks, and how that server's answers are read.
    var endpoint: any ObjectEndpoint { get }
    /// The request of the next attempt and where its body goes.
    func nextRequest() -> (HTTPRequest, BodySink)
    /// What the answer to the last request means.
    func judge(_ result: TransferResult) -> FetchVerdict<Value>
    /// Learns, while an answer arrives, that `stored` bytes of its body (whose head is `head`)
    /// are in place.
    func bodyArrived(_ head: ResponseHead, stored: Int)
}

extension RetriedFetch {
    func bodyArrived(_ head: ResponseHead, stored: Int) {}
}

/// The one retry loop of remote reading, under object reads and S3 listings alike: it sends
/// what its fetch asks for, follows redirects, retries what may work later (timeouts, resets,
/// throttling such as 503 SlowDown and 429, server errors) with backoff and `Retry-After`, and
/// fails once the time its policy allows has run out, also while a transfer still runs.
final class RetryLoop<Fetch: RetriedFetch>: @unchecked Sendable {
    private let fetch: Fetch
    private let transport: any Transport
    private let policy: RetryPolicy
    private let now: @Sendable () -> UInt64
    private let completion: @Sendable (Result<Fetch.Value, FetchFailure>) -> Void
    private let deadline: UInt64
    // Touched by one attempt at a time: the caller's thread, then the transport's.
    private var retries = 0
    private var redirects = 0
    private var returnedToOriginal = false

    /// A loop for `fetch` over `transport`, within `policy`'s time from now (as `now` tells
    /// it, in monotonic milliseconds); `completion` runs once, on the transport's thread.
    init(
        _ fetch: Fetch, transport: any Transport, policy: RetryPolicy,
        now: @escaping @Sendable () -> UInt64 = MonotonicClock.milliseconds,
        completion: @escaping @Sendable (Result<Fetch.Value, FetchFailure>) -> Void
    ) {
        self.fetch = fetch
        self.transport = transport
        self.policy = policy
        self.now = now
        self.completion = completion
        deadline = now() + policy.totalMilliseconds
    }

    /// Sends the first request.
    func start() {
        attempt(after: 0)
    }

    /// Runs `fetch` and waits for its end; for callers on threads that may block.
    static func run(_ fetch: Fetch, transport: any Transport, policy: RetryPolicy) -> Result<Fetch.Value, FetchFailure> {
        let done = Completion<Result<Fetch.Value, FetchFailure>>()
        RetryLoop(fetch, transport: transport, policy: policy) { done.finish($0) }.start()
        return done.wait()
    }

    private func attempt(after delay: UInt64) {
        let (request, sink) = fetch.nextRequest()
        let exchange = Exchange(request: request, sink: sink, deadline: deadline, onBody: { head, stored in
            self.fetch.bodyArrived(head, stored: stored)
        }) { result in
            self.handle(result)
        }
        transport.send(exchange, afterMilliseconds: delay)
    }

    private func handle(_ result: TransferResult) {
        if (200..<400).contains(result.head.status), let mismatch = fetch.endpoint.mismatch(in: result.head) {
            return completion(.failure(.changed(mismatch)))
        }
        switch fetch.judge(result) {
        case .finished(let outcome): completion(outcome)
        case .retry(let reason): retry(because: reason)
        case .unhandled: applyRules(to: result)
        }
    }

    private func applyRules(to result: TransferResult) {
        let endpoint = fetch.endpoint
        let head = result.head
        switch head.status {
        case 301, 302, 303, 307, 308:
            redirects += 1
            guard redirects <= RetryLimits.maximumRedirects else { return fail("more than \(RetryLimits.maximumRedirects) redirects") }
            switch endpoint.follow(redirect: head) {
            case .followed: attempt(after: 0)
            case .refused(let reason): fail(reason)
            }
        case 401, 403, 404, 410:
            // A signed URL a redirect led to may have expired: start over where it began.
            guard !returnedToOriginal, endpoint.returnToOriginalLocation() else { return fail(endpoint.explain(result)) }
            returnedToOriginal = true
            attempt(after: 0)
        case 408, 429, 500...599:
            retry(because: endpoint.explain(result), retryAfterSeconds: head.retryAfterSeconds)
        case 0:
            guard let failure = result.failure else { return fail("no response") }
            if failure.isTransient && (policy.retriesUnreachableHosts || failure.kind != .unreachable) {
                retry(because: failure.message)
            } else {
                fail(failure.message)
            }
        default:
            fail(endpoint.explain(result))
        }
    }

    private func retry(because reason: String, retryAfterSeconds: Int? = nil) {
        let delay = policy.delay(beforeRetry: retries, retryAfterSeconds: retryAfterSeconds)
        guard now() + delay <= deadline else {
            let attempts = retries + 1
            let seconds = Double(policy.totalMilliseconds) / 1000
            return fail("\(reason) (gave up after \(attempts) \(attempts == 1 ? "attempt" : "attempts") in \(seconds.formatted1) s)")
        }
        retries += 1
        policy.onRetry?(fetch.endpoint.displayName, reason)
        attempt(after: delay)
    }

    private func fail(_ reason: String) {
        completion(.failure(.failed(reason)))
    }
}

/// Bounds of the retry loop that do not depend on its fetch.
enum RetryLimits {
    /// The most redirects followed for one fetch.
    static let maximumRedirects = 10
}
