import SafetensorsFormat

/// What a fetch learned about the object, and how many bytes it stored.
struct FetchOutcome: Sendable {
    /// The object's version (as mounted, or as first seen by a fetch that learns it).
    var version: ObjectVersion
    /// The bytes stored at the destination.
    var count: Int
    /// How long the request took, when one request brought every byte and the transport
    /// measured it: what read-ahead sizes its requests by.
    var timing: TransferTiming? = nil
}

/// Fetches one byte range of an object into memory, driven by `RetryLoop`: after a short body
/// or a broken connection it asks only for the bytes still missing. Every request is
/// conditional on the object's version, so the bytes come from one version or the fetch fails
/// with `.changed`. While a body arrives, it tells how far the bytes in place reach, once the
/// response's head has shown them to be the bytes asked for, of the version mounted (and the
/// endpoint has found nothing amiss in it: a Hub file answered at another commit).
///
/// Without a known version (the first request of a mount) it learns the version from the first
/// response, and the range shrinks to the object's size.
final class RangeFetch: RetriedFetch {
    let endpoint: any ObjectEndpoint
    private let destination: BodyMemory
    private let progress: (@Sendable (UInt64) -> Void)?
    // Touched by one attempt at a time (see `RetryLoop`).
    private var version: ObjectVersion?
    private var range: ByteRange
    private var received: UInt64 = 0
    /// Whether the head of the attempt's response shows the bytes asked for, of the version
    /// mounted: worked out at its first chunk of body, since the head does not change after.
    private var bodyIsUsable: Bool?

    /// A fetch of `range` of the object at `endpoint` into `destination`, which holds
    /// `range.count` bytes and must stay valid until the fetch ends. With a known `version`,
    /// `progress` hears (on the transport's thread) where the bytes in place and checked end.
    init(
        endpoint: any ObjectEndpoint, version: ObjectVersion?, range: ByteRange, into destination: BodyMemory,
        progress: (@Sendable (UInt64) -> Void)? = nil
    ) {
        precondition(UInt64(destination.capacity) == range.count, "the destination must hold the range exactly")
        self.endpoint = endpoint
        self.version = version
        self.range = range
        self.destination = destination
        self.progress = progress
    }

    /// Starts fetching `range` into `destination` over `transport`; `progress` hears where the
    /// bytes in place end as they arrive, and `completion` runs once, on the transport's thread.
    static func start(
        endpoint: any ObjectEndpoint, version: ObjectVersion?, range: ByteRange, into destination: BodyMemory,
        transport: any Transport, policy: RetryPolicy, progress: (@Sendable (UInt64) -> Void)? = nil,
        completion: @escaping @Sendable (Result<FetchOutcome, FetchFailure>) -> Void
    ) {
        let fetch = RangeFetch(endpoint: endpoint, version: version, range: range, into: destination, progress: progress)
        RetryLoop(fetch, transport: transport, policy: policy, completion: completion).start()
    }

    /// Fetches and waits; for callers on threads that may block.
    static func fetch(
        endpoint: any ObjectEndpoint, version: ObjectVersion?, range: ByteRange, into destination: BodyMemory,
        transport: any Transport, policy: RetryPolicy
    ) -> Result<FetchOutcome, FetchFailure> {
        RetryLoop.run(RangeFetch(endpoint: endpoint, version: version, range: range, into: destination), transport: transport, policy: policy)
    }

    /// The bytes not received yet.
    private var remaining: ByteRange { ByteRange(start: range.start + received, end: range.end) }

    func nextRequest() -> (HTTPRequest, BodySink) {
        bodyIsUsable = nil
        let remaining = remaining
        let request = endpoint.request(for: remaining, conditions: version?.conditionHeaders ?? [])
        return (request, .memory(destination.dropping(first: Int(received))))
    }

    func bodyArrived(_ head: ResponseHead, stored: Int) {
        guard let progress, let version else { return }
        let asked = remaining
        if bodyIsUsable == nil {
            bodyIsUsable = endpoint.mismatch(in: head) == nil && defect(of: head, asked: asked, version: version) == nil
        }
        guard bodyIsUsable == true else { return }
        progress(asked.start + UInt64(stored))
    }

    func judge(_ result: TransferResult) -> FetchVerdict<FetchOutcome> {
        let head = result.head
        let asked = remaining
        switch head.status {
        case 206:
            return judgePartial(result, asked: asked)
        case 200:
            return judgeWhole(result, asked: asked)
        case 416 where version == nil && head.contentRange?.total == 0:
            range = ByteRange(start: 0, end: 0)
            let empty = ObjectVersion(size: 0, etag: head.etag, lastModified: head.lastModified)
            version = empty
            return .finished(.success(FetchOutcome(version: empty, count: 0)))
        case 412:
            return .finished(.failure(.changed("it changed since it was mounted (\(head.statusText))")))
        case 416:
            return .finished(.failure(.changed("it is shorter than when it was mounted (\(head.statusText))")))
        default:
            return .unhandled
        }
    }

    /// Why the head of an answer to `asked` rules its body out, for a fetch of the known
    /// `version`; nil when the body holds bytes of that version from the start of `asked`.
    private func defect(of head: ResponseHead, asked: ByteRange, version: ObjectVersion) -> FetchFailure? {
        switch head.status {
        case 206:
            guard let served = head.contentRange?.range, served.start == asked.start else {
                return .failed("\(head.statusText) with a Content-Range that does not match the request")
            }
            if let mismatch = version.mismatch(with: head) { return .changed(mismatch) }
            guard served.end <= range.end || served.end == version.size else {
                return .failed("\(head.statusText) with more bytes than asked for")
            }
            return nil
        case 200:
            if let mismatch = version.mismatch(with: head) { return .changed(mismatch) }
            guard asked.start == 0, asked.end == version.size else { return .failed(FetchFailure.rangesIgnored(head).description) }
            return nil
        default:
            return .failed(head.statusText)
        }
    }

    /// A 206: the bytes asked for (or, for a fetch that learns the version, the start of them).
    private func judgePartial(_ result: TransferResult, asked: ByteRange) -> FetchVerdict<FetchOutcome> {
        let head = result.head
        if version == nil, let contentRange = head.contentRange, contentRange.range?.start == asked.start {
            guard let total = contentRange.total else { return failed("\(head.statusText) without the object's size") }
            version = ObjectVersion(size: total, etag: head.etag, lastModified: head.lastModified)
            range = ByteRange(start: range.start, end: min(range.end, max(total, range.start)))
        }
        guard let known = version else { return failed("\(head.statusText) with a Content-Range that does not match the request") }
        if let defect = defect(of: head, asked: asked, version: known) { return .finished(.failure(defect)) }
        let firstAttempt = received == 0
        received += UInt64(result.received)
        if received >= range.count {
            return .finished(.success(FetchOutcome(version: known, count: Int(range.count), timing: firstAttempt ? result.timing : nil)))
        }
        if let failure = result.failure, !failure.isTransient { return failed(failure.message) }
        return .retry(because: result.failure?.message ?? "the body ended early")
    }

    /// A 200: the whole object. Fine when the whole object was asked for (or, when learning the
    /// version, when it fit); otherwise the server ignores ranges, which tensorfs needs.
    private func judgeWhole(_ result: TransferResult, asked: ByteRange) -> FetchVerdict<FetchOutcome> {
        let head = result.head
        if let version {
            if let defect = defect(of: head, asked: asked, version: version) { return .finished(.failure(defect)) }
        } else if result.failure?.kind == .overflowed {
            return .finished(.failure(.rangesIgnored(head)))
        }
        if let failure = result.failure {
            return failure.isTransient ? .retry(because: failure.message) : failed(failure.message)
        }
        let known = version ?? ObjectVersion(size: UInt64(result.received), etag: head.etag, lastModified: head.lastModified)
        if version == nil {
            version = known
            range = ByteRange(start: 0, end: UInt64(result.received))
        }
        guard UInt64(result.received) == range.count else { return .retry(because: "the body ended early") }
        received = range.count
        return .finished(.success(FetchOutcome(version: known, count: result.received, timing: result.timing)))
    }

    private func failed(_ reason: String) -> FetchVerdict<FetchOutcome> {
        .finished(.failure(.failed(reason)))
    }
}
