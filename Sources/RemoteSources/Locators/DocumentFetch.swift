/// A small document (a page of a listing, an API's answer) fetched whole through the retry
/// loop: a request given as it is (S3's signed listings), or the one the endpoint builds for
/// where its redirects have led.
final class DocumentFetch: RetriedFetch {
    let endpoint: any ObjectEndpoint
    private let request: HTTPRequest?

    /// The most bytes of one document.
    static let sizeLimit = 64 << 20

    /// A fetch of `request`, or without one, of what `endpoint` names.
    init(endpoint: any ObjectEndpoint, request: HTTPRequest? = nil) {
        self.endpoint = endpoint
        self.request = request
    }

    func nextRequest() -> (HTTPRequest, BodySink) {
        (request ?? endpoint.request(for: nil, conditions: []), .collect(limit: Self.sizeLimit))
    }

    func judge(_ result: TransferResult) -> FetchVerdict<[UInt8]> {
        guard result.head.status == 200 else { return .unhandled }
        guard let failure = result.failure else { return .finished(.success(result.body)) }
        return failure.isTransient ? .retry(because: failure.message) : .finished(.failure(.failed(failure.message)))
    }
}
