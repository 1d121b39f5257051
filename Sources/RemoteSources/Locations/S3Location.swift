/// An `s3://BUCKET/KEY` location: one object, or with an empty key or a key ending in `/`, a
/// prefix that stands for a directory.
struct S3Location: Hashable, Sendable {
    /// The bucket's name.
    var bucket: String
    /// The object's key, or the prefix.
    var key: String

    /// Parses `s3://BUCKET/KEY`.
    init(parsing text: String) throws(RemoteURL.ParseError) {
        guard text.hasPrefix("s3://") else { throw RemoteURL.ParseError(description: "not an s3:// location") }
        let rest = text.dropFirst("s3://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let bucket = rest[..<slash]
        guard !bucket.isEmpty, bucket.utf8.allSatisfy(NameBytes.contains) else {
            throw RemoteURL.ParseError(description: "bad bucket name \(quoted(String(bucket)))")
        }
        self.bucket = String(bucket)
        key = slash == rest.endIndex ? "" : String(rest[rest.index(after: slash)...])
    }

    /// Creates the location of `key` in `bucket`.
    init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }

    /// `s3://BUCKET/KEY`.
    var text: String { "s3://\(bucket)/\(key)" }

    /// Whether the location names a prefix (a directory) rather than one object.
    var isPrefix: Bool { key.isEmpty || key.hasSuffix("/") }
}

/// Where S3 requests go: AWS itself (virtual-hosted-style addressing where the bucket name
/// allows), or a custom endpoint such as MinIO or moto (path-style addressing).
struct S3Addressing: Hashable, Sendable {
    /// The custom endpoint, or nil for AWS.
    var endpoint: RemoteURL?
    /// The region requests are signed for.
    var region: String

    /// The URL of `key` in `bucket`, with `query` (already canonical: sorted and encoded).
    func url(bucket: String, key: String, query: String? = nil) -> String {
        let path = "/" + PercentEncoding.encodePath(key)
        let suffix = query.map { "?" + $0 } ?? ""
        if let endpoint {
            var base = endpoint.display
            while base.hasSuffix("/") { base.removeLast() }
            return base + "/" + PercentEncoding.encode(bucket) + path + suffix
        }
        if bucket.contains(".") || bucket.contains("_") || bucket != bucket.lowercased() {
            return "https://s3.\(region).amazonaws.com/\(PercentEncoding.encode(bucket))\(path)\(suffix)"
        }
        return "https://\(bucket).s3.\(region).amazonaws.com\(path)\(suffix)"
    }
}
