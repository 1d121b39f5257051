import SafetensorsFormat

/// Why bytes could not be fetched.
enum FetchFailure: Error, Sendable {
    /// The object is not the version that was mounted.
    case changed(String)
    /// The request failed for good (after any retries), for this reason.
    case failed(String)
}

/// What a fetch learned about the object, and how many bytes it stored.
struct FetchOutcome: Sendable {
    /// The object's version (as mounted, or as first seen by a fetch that learns it).
    var version: ObjectVersion
    /// The bytes stored at the destination.
    var count: Int
}

/// Fetches one byte range of an object into memory, surviving what networks do: it retries
/// timeouts, resets, throttling (503 SlowDown, 429) and server errors with backoff, asking only
/// for the bytes still missing, and follows redirects. Every request is conditional on the
/// object's version, so the bytes come from one version or the fetch fails with `.changed`.
///
/// Without a known version (the first request of a mount) it learns the version from the first
/// response, and the range shrinks to the object's size.
final class RangeFetch: @unchecked Sendable {
    private let endpoint: any ObjectEndpoint
    private let engine: TransferEngine
    private let policy: RetryPolicy
    private let destination: UnsafeMutableRawPointer
    private let completion: @Sendable (Result<FetchOutcome, FetchFailure>) -> Void
    // Touched by one attempt at a time: the caller's thread, then the engine's.
    private var version: ObjectVersion?
    private var range: ByteRange
    private var received: UInt64 = 0
    private var retries = 0
    private var redirects = 0
    private var returnedToOriginal = false
    private let deadline: UInt64

    /// The most redirects followed for one fetch.
    static let maximumRedirects = 10

    /// Prepares to fetch `range` of the object at `endpoint` into `destination` (which holds
    /// `range.count` bytes and must stay valid until `completion` runs, on the engine's thread).
    init(
        endpoint: any ObjectEndpoint, version: ObjectVersion?, range: ByteRange, into destination: UnsafeMutableRawPointer,
        engine: TransferEngine, policy: RetryPolicy,
        completion: @escaping @Sendable (Result<FetchOutcome, FetchFailure>) -> Void
    ) {
        self.endpoint = endpoint
        self.version = version
        self.range = range
        self.destination = destination
        self.engine = engine
        self.policy = policy
        self.completion = completion
        deadline = MonotonicClock.milliseconds() + policy.totalMilliseconds
    }

    /// Sends the first request.
    func start() {
        attempt(after: 0)
    }

    /// Fetches and waits; for callers on threads that may block.
    static func fetch(
        endpoint: any ObjectEndpoint, version: ObjectVersion?, range: ByteRange, into destination: UnsafeMutableRawPointer,
        engine: TransferEngine, policy: RetryPolicy
    ) -> Result<FetchOutcome, FetchFailure> {
        let done = Completion<Result<FetchOutcome, FetchFailure>>()
        RangeFetch(endpoint: endpoint, version: version, range: range, into: destination, engine: engine, policy: policy) {
            done.finish($0)
        }.start()
        return done.wait()
    }

    private func attempt(after delay: UInt64) {
        let remaining = ByteRange(start: range.start + received, end: range.end)
        let request = endpoint.request(for: remaining, conditions: version?.conditionHeaders ?? [])
        let transfer = Transfer(request: request, sink: .memory(destination + Int(received), capacity: Int(remaining.count))) { result in
            self.handle(result, asked: remaining)
        }
        engine.submit(transfer, delayMilliseconds: delay)
    }

    private func handle(_ result: TransferResult, asked: ByteRange) {
        let head = result.head
        switch head.status {
        case 206:
            handlePartial(result, asked: asked)
        case 200:
            handleWhole(result, asked: asked)
        case 416 where version == nil && head.contentRange?.total == 0:
            range = ByteRange(start: 0, end: 0)
            version = ObjectVersion(size: 0, etag: head.etag, lastModified: head.lastModified)
            finish(.success(FetchOutcome(version: version!, count: 0)))
        case 301, 302, 303, 307, 308:
            redirects += 1
            guard redirects <= Self.maximumRedirects else { return fail("more than \(Self.maximumRedirects) redirects") }
            switch endpoint.follow(redirect: head) {
            case .followed: attempt(after: 0)
            case .refused(let reason): fail(reason)
            }
        case 412:
            finish(.failure(.changed("it changed since it was mounted (\(head.statusText))")))
        case 416:
            finish(.failure(.changed("it is shorter than when it was mounted (\(head.statusText))")))
        case 401, 403, 404, 410:
            guard !returnedToOriginal, endpoint.returnToOriginalLocation() else { return fail(endpoint.explain(result)) }
            returnedToOriginal = true
            attempt(after: 0)
        case 408, 429, 500...599:
            retry(because: endpoint.explain(result), retryAfterSeconds: head.retryAfterSeconds)
        case 0:
            guard let failure = result.failure else { return fail("no response") }
            if failure.isTransient && (policy.retriesUnreachableHosts || !failure.isUnreachable) {
                retry(because: failure.message)
            } else {
                fail(failure.message)
            }
        default:
            fail(endpoint.explain(result))
        }
    }

    /// A 206: the bytes asked for (or, for a fetch that learns the version, the start of them).
    private func handlePartial(_ result: TransferResult, asked: ByteRange) {
        let head = result.head
        guard let contentRange = head.contentRange, let served = contentRange.range, served.start == asked.start else {
            return fail("\(head.statusText) with a Content-Range that does not match the request")
        }
        if let version {
            if let mismatch = version.mismatch(with: head) { return finish(.failure(.changed(mismatch))) }
        } else {
            guard let total = contentRange.total else { return fail("\(head.statusText) without the object's size") }
            version = ObjectVersion(size: total, etag: head.etag, lastModified: head.lastModified)
            range = ByteRange(start: range.start, end: min(range.end, max(total, range.start)))
        }
        guard served.end <= range.end || served.end == version!.size else {
            return fail("\(head.statusText) with more bytes than asked for")
        }
        received += UInt64(result.received)
        if received >= range.count { return finish(.success(FetchOutcome(version: version!, count: Int(range.count)))) }
        if let failure = result.failure, !failure.isTransient || failure.overflowed {
            return fail(failure.message)
        }
        retry(because: result.failure?.message ?? "the body ended early")
    }

    /// A 200: the whole object. Fine when the whole object was asked for (or, when learning the
    /// version, when it fit); otherwise the server ignores ranges, which tensorfs needs.
    private func handleWhole(_ result: TransferResult, asked: ByteRange) {
        let head = result.head
        if let version {
            if let mismatch = version.mismatch(with: head) { return finish(.failure(.changed(mismatch))) }
            guard asked.start == 0, asked.end == version.size else {
                return fail("the server ignores byte ranges (it answered a range request with \(head.statusText))")
            }
        } else if result.failure?.overflowed == true {
            return fail("the server ignores byte ranges (it answered a range request with \(head.statusText))")
        }
        if let failure = result.failure {
            return failure.isTransient ? retry(because: failure.message) : fail(failure.message)
        }
        if version == nil {
            version = ObjectVersion(size: UInt64(result.received), etag: head.etag, lastModified: head.lastModified)
            range = ByteRange(start: 0, end: UInt64(result.received))
        }
        guard UInt64(result.received) == range.count else { return retry(because: "the body ended early") }
        received = range.count
        finish(.success(FetchOutcome(version: version!, count: result.received)))
    }

    private func retry(because reason: String, retryAfterSeconds: Int? = nil) {
        let delay = policy.delay(beforeRetry: retries, retryAfterSeconds: retryAfterSeconds)
        guard MonotonicClock.milliseconds() + delay <= deadline else {
            let seconds = Double(policy.totalMilliseconds) / 1000
            return fail("\(reason) (gave up after \(retries + 1) attempts in \(seconds.formatted1) s)")
        }
        retries += 1
        attempt(after: delay)
    }

    private func fail(_ reason: String) {
        finish(.failure(.failed(reason)))
    }

    private func finish(_ result: Result<FetchOutcome, FetchFailure>) {
        completion(result)
    }
}

extension Double {
    /// The number with one decimal, like `2.5`.
    var formatted1: String {
        let tenths = (self * 10).rounded()
        return "\(Int(tenths) / 10).\(abs(Int(tenths) % 10))"
    }
}
