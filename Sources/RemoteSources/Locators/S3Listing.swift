/// Lists the objects under an S3 prefix, at any depth, with ListObjectsV2, page by page.
struct S3Listing {
    let settings: AWSSettings
    let transport: any Transport
    let policy: RetryPolicy

    /// The most pages read (a thousand keys each).
    static let pageLimit = 1000

    /// The names of the objects under `prefix` (its key) at any depth, relative to it (those
    /// below a folder holding `/`), sorted by their bytes.
    func names(in prefix: S3Location) throws(ListingFailure) -> [String] {
        var names: [String] = []
        var continuation: String?
        for _ in 0..<Self.pageLimit {
            let page = try fetchPage(prefix, continuation: continuation)
            let document = Substring(String(decoding: page, as: UTF8.self))
            for entry in XMLElements.contents(of: "Contents", in: document) {
                guard let key = XMLElements.text(of: "Key", in: entry), key.hasPrefix(prefix.key), key.count > prefix.key.count else { continue }
                names.append(String(key.dropFirst(prefix.key.count)))
            }
            guard XMLElements.text(of: "IsTruncated", in: document) == "true",
                  let next = XMLElements.text(of: "NextContinuationToken", in: document) else {
                return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            }
            continuation = next
        }
        throw ListingFailure(description: "more than \(Self.pageLimit) pages of objects")
    }

    /// The query of one ListObjectsV2 request, canonical as Signature Version 4 wants it:
    /// parameters sorted by name, names and values percent-encoded.
    static func query(prefix: String, continuation: String?) -> String {
        var parameters = [("list-type", "2"), ("prefix", prefix)]
        if let continuation { parameters.append(("continuation-token", continuation)) }
        return parameters.sorted { $0.0 < $1.0 }
            .map { PercentEncoding.encode($0.0) + "=" + PercentEncoding.encode($0.1) }
            .joined(separator: "&")
    }

    private func fetchPage(_ prefix: S3Location, continuation: String?) throws(ListingFailure) -> [UInt8] {
        let url = settings.addressing.url(bucket: prefix.bucket, key: "", query: Self.query(prefix: prefix.key, continuation: continuation))
        let page = DocumentFetch(
            endpoint: S3ObjectEndpoint(location: S3Location(bucket: prefix.bucket, key: ""), settings: settings),
            request: S3Requests.signed(url: url, headers: [], range: nil, settings: settings))
        switch RetryLoop.run(page, transport: transport, policy: policy) {
        case .success(let body): return body
        case .failure(let failure): throw ListingFailure(description: failure.description)
        }
    }
}
