import SafetensorsFormat

/// What a response said before its body: the status and the headers tensorfs uses.
struct ResponseHead: Sendable {
    /// The HTTP status code, 0 before the status line arrived.
    var status = 0
    /// The status line's reason phrase ("Not Found").
    var reason = ""
    /// `Content-Range`, parsed.
    var contentRange: ContentRange?
    /// `Content-Length`.
    var contentLength: UInt64?
    /// `ETag`, as sent (quotes and any `W/` included).
    var etag: String?
    /// `Last-Modified`, as sent.
    var lastModified: String?
    /// `Location` of a redirect.
    var location: String?
    /// `Retry-After` in seconds.
    var retryAfterSeconds: Int?
    /// `x-amz-bucket-region`, which S3 sends when a bucket lives in another region.
    var bucketRegion: String?
    /// `X-Repo-Commit`, which the Hugging Face Hub sends: the commit a file was resolved at.
    var repoCommit: String?
    /// `X-Linked-ETag`, which the Hub sends for a file kept in large-file storage: its SHA-256.
    var linkedETag: String?
    /// `X-Error-Code` and `X-Error-Message`, with which the Hub explains a refusal
    /// (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`, `GatedRepo`).
    var errorCode: String?
    var errorMessage: String?

    /// Takes in one header line as libcurl passes it (with its CRLF); a status line starts a
    /// new response (after a 100 Continue, say).
    mutating func take(line rawLine: Substring) {
        let line = rawLine.trimmingWhitespace().trimmingSuffix("\r\n")
        if line.hasPrefix("HTTP/") {
            self = ResponseHead()
            let words = line.split(separator: " ", maxSplits: 2)
            status = words.count > 1 ? Int(words[1]) ?? 0 : 0
            reason = words.count > 2 ? String(words[2]) : ""
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].lowercased()
        let value = String(line[line.index(after: colon)...].trimmingWhitespace())
        switch name {
        case "content-range": contentRange = ContentRange(parsing: value)
        case "content-length": contentLength = UInt64(value)
        case "etag": etag = value
        case "last-modified": lastModified = value
        case "location": location = value
        case "retry-after": retryAfterSeconds = Int(value)
        case "x-amz-bucket-region": bucketRegion = value
        case "x-repo-commit": repoCommit = value
        case "x-linked-etag": linkedETag = value
        case "x-error-code": errorCode = value
        case "x-error-message": errorMessage = value
        default: break
        }
    }

    /// `Status reason`, e.g. `404 Not Found`.
    var statusText: String { reason.isEmpty ? "HTTP \(status)" : "HTTP \(status) \(reason)" }
}

/// A `Content-Range: bytes START-END/TOTAL` header (or `bytes */TOTAL` with a 416).
struct ContentRange: Hashable, Sendable {
    /// The bytes the body holds, or nil for `*`.
    var range: ByteRange?
    /// The size of the whole object, or nil for `*`.
    var total: UInt64?

    /// Parses the header's value, or returns nil when it is malformed.
    init?(parsing value: String) {
        guard value.hasPrefix("bytes ") else { return nil }
        let spec = value.dropFirst("bytes ".count)
        guard let slash = spec.firstIndex(of: "/") else { return nil }
        let rangeText = spec[..<slash]
        let totalText = spec[spec.index(after: slash)...]
        if totalText == "*" {
            total = nil
        } else {
            guard let number = UInt64(totalText) else { return nil }
            total = number
        }
        if rangeText == "*" {
            range = nil
        } else {
            guard let dash = rangeText.firstIndex(of: "-"),
                  let first = UInt64(rangeText[..<dash]), let last = UInt64(rangeText[rangeText.index(after: dash)...]),
                  last >= first, last < .max else { return nil }
            range = ByteRange(start: first, end: last + 1)
        }
    }
}

extension Substring {
    /// The text without `suffix` at its end.
    func trimmingSuffix(_ suffix: String) -> Substring {
        hasSuffix(suffix) ? dropLast(suffix.count) : self
    }
}
