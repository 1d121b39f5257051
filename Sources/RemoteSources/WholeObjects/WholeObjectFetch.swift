import SafetensorsFormat

/// Fetches a whole object, without a range, into memory of a given capacity: for servers that
/// ignore byte ranges. A broken transfer is tried again from the start (the server would send
/// the start again anyway). The object's size is what arrived, checked against the size the
/// server or a listing announced; its validators must be those of the server's first answer.
final class WholeObjectFetch: RetriedFetch {
    let endpoint: any ObjectEndpoint
    private let destination: UnsafeMutableRawBufferPointer
    private let firstAnswer: ResponseHead
    private let expectedSize: UInt64?

    /// A fetch of the object at `endpoint` into `destination`; `firstAnswer` is the server's
    /// answer to the request that found it ignores ranges, and `expectedSize` the size the
    /// object must have, if known.
    init(endpoint: any ObjectEndpoint, into destination: UnsafeMutableRawBufferPointer, firstAnswer: ResponseHead, expectedSize: UInt64?) {
        self.endpoint = endpoint
        self.destination = destination
        self.firstAnswer = firstAnswer
        self.expectedSize = expectedSize
    }

    func nextRequest() -> (HTTPRequest, BodySink) {
        (endpoint.request(for: nil, conditions: []), .memory(BodyMemory([destination])))
    }

    func judge(_ result: TransferResult) -> FetchVerdict<FetchOutcome> {
        let head = result.head
        guard head.status == 200 else { return .unhandled }
        if let failure = result.failure {
            if failure.kind == .overflowed {
                let limit = expectedSize.map { "the \($0) bytes it was announced with" } ?? "the \(destination.count) bytes there is room for"
                return .finished(.failure(expectedSize == nil ? .failed("it is larger than \(limit)") : .changed("it is larger than \(limit)")))
            }
            return failure.isTransient ? .retry(because: failure.message) : .finished(.failure(.failed(failure.message)))
        }
        let received = UInt64(result.received)
        if let length = head.contentLength, length != received { return .retry(because: "the body ended early") }
        if let expectedSize, received != expectedSize {
            return .finished(.failure(.changed("it is \(received) bytes, not the \(expectedSize) it was announced with")))
        }
        if let change = ObjectVersion(size: received, etag: firstAnswer.etag, lastModified: firstAnswer.lastModified).mismatch(with: head) {
            return .finished(.failure(.changed(change)))
        }
        let version = ObjectVersion(size: received, etag: head.etag ?? firstAnswer.etag, lastModified: head.lastModified ?? firstAnswer.lastModified)
        return .finished(.success(FetchOutcome(version: version, count: result.received)))
    }
}
