import SafetensorsFormat

/// Where one remote object's bytes are requested, and how its server's answers are read: plain
/// HTTP(S) or S3. It knows URLs, credentials and redirects; it knows nothing of parts or caching.
protocol ObjectEndpoint: AnyObject, Sendable {
    /// How users see the object: a URL without credentials or query, or `s3://BUCKET/KEY`.
    var displayName: String { get }
    /// What tells this object's location apart from every other, for cache keys (a hash of
    /// the full URL, never the URL itself, which may hold a signature).
    var locationIdentity: String { get }
    /// The request for `range` of the object (nil for all of it), with `conditions` added.
    func request(for range: ByteRange?, conditions: [String]) -> HTTPRequest
    /// Moves to where a redirect points, or says why it is not followed.
    func follow(redirect head: ResponseHead) -> RedirectOutcome
    /// After a refusal at a redirect's target (an expired signed URL, say), goes back to the
    /// original location; false when the request was not redirected.
    func returnToOriginalLocation() -> Bool
    /// One phrase for a response that failed (`HTTP 404 Not Found`, or S3's error code and message).
    func explain(_ result: TransferResult) -> String
    /// Why an answer (a success or a redirect) cannot be of the object this endpoint stands
    /// for, beyond what its version tells (a Hub file resolved at another commit); nil if it may be.
    func mismatch(in head: ResponseHead) -> String?
    /// What a listing said of the object before it was asked for, if anything.
    var listed: ListedObject? { get }
}

extension ObjectEndpoint {
    func mismatch(in head: ResponseHead) -> String? { nil }
    var listed: ListedObject? { nil }
}

/// What a listing said of an object (a Hub repository's, at one commit).
struct ListedObject: Sendable, Hashable {
    /// Its size, when the listing gave it.
    var size: UInt64?
    /// What names its bytes for good (the commit, path and blob hash): its URL never serves
    /// other bytes, so that it may be cached without validators.
    var identity: String
}

/// What to do about a redirect.
enum RedirectOutcome: Sendable {
    /// Request again: the endpoint now points at the new location.
    case followed
    /// Give up, for this reason.
    case refused(String)
}

/// A `.safetensors` file or an index behind plain HTTP(S): a model hub, a CDN, an artifact
/// server. Its `--header`s go only to its own origin: a redirect to another host drops them.
final class HTTPObjectEndpoint: ObjectEndpoint, @unchecked Sendable {
    let displayName: String
    let locationIdentity: String
    private let original: RemoteURL
    private let headers: [HTTPHeader]
    private let conditionalAtOrigin: Bool
    private let current: LockedValue<RemoteURL>

    /// The object at `url`; `headers` go with every request to `url`'s origin. Without
    /// `conditionalAtOrigin` (a URL that names one version for good, such as a commit's file),
    /// preconditions go only where redirects lead.
    init(url: RemoteURL, headers: [HTTPHeader], conditionalAtOrigin: Bool = true) {
        original = url
        self.headers = headers
        self.conditionalAtOrigin = conditionalAtOrigin
        displayName = url.display
        locationIdentity = "http " + XXHash64.hash(url.text).paddedHex
        current = LockedValue(url)
    }

    func request(for range: ByteRange?, conditions: [String]) -> HTTPRequest {
        let url = current.value
        let atOrigin = url.origin == original.origin
        var lines = atOrigin && !conditionalAtOrigin ? [] : conditions
        if atOrigin { lines += headers.map(\.line) }
        return HTTPRequest(url: url.text, headers: lines, range: range)
    }

    func follow(redirect head: ResponseHead) -> RedirectOutcome {
        guard let location = head.location else {
            return .refused("\(head.statusText) without a Location")
        }
        do {
            let target = try current.value.resolving(location)
            current.value = target
            return .followed
        } catch {
            return .refused("\(head.statusText) to an unusable location: \(error)")
        }
    }

    func returnToOriginalLocation() -> Bool {
        current.exchange(original) != original
    }

    func explain(_ result: TransferResult) -> String {
        result.head.statusText
    }
}

/// An object in S3 or a service that speaks its API, requested with Signature Version 4 (or
/// unsigned with `--no-sign-request`). S3 redirects (a bucket in another region) are not
/// followed: credentials are signed for one host only.
final class S3ObjectEndpoint: ObjectEndpoint, @unchecked Sendable {
    let displayName: String
    let locationIdentity: String
    private let url: String
    private let settings: AWSSettings

    /// The object at `location`, reached as `settings` say.
    init(location: S3Location, settings: AWSSettings) {
        self.settings = settings
        displayName = location.text
        url = settings.addressing.url(bucket: location.bucket, key: location.key)
        locationIdentity = "s3 " + XXHash64.hash(url).paddedHex
    }

    func request(for range: ByteRange?, conditions: [String]) -> HTTPRequest {
        S3Requests.signed(url: url, headers: conditions, range: range, settings: settings)
    }

    func follow(redirect head: ResponseHead) -> RedirectOutcome {
        let region = head.bucketRegion.map { "; the bucket is in \($0), set AWS_REGION=\($0)" } ?? ""
        return .refused("S3 answered \(head.statusText)\(region)")
    }

    func returnToOriginalLocation() -> Bool { false }

    func explain(_ result: TransferResult) -> String {
        S3Requests.explain(result)
    }
}

/// Building and reading S3 requests, shared by objects and listings.
enum S3Requests {
    /// A request to `url`, signed with the settings' credentials when there are any.
    static func signed(url: String, headers: [String], range: ByteRange?, settings: AWSSettings) -> HTTPRequest {
        HTTPRequest(
            url: url, headers: headers, range: range,
            signing: settings.credentials.map { SigV4Signing(region: settings.addressing.region, credentials: $0) })
    }

    /// `HTTP 404 Not Found (NoSuchKey: The specified key does not exist.)`, from S3's error document.
    static func explain(_ result: TransferResult) -> String {
        let document = Substring(String(decoding: result.body, as: UTF8.self))
        let code = XMLElements.text(of: "Code", in: document)
        let message = XMLElements.text(of: "Message", in: document)
        let detail = [code, message].compactMap { $0 }.joined(separator: ": ")
        var text = result.head.statusText + (detail.isEmpty ? "" : " (\(detail))")
        if let region = result.head.bucketRegion, result.head.status == 301 || result.head.status == 307 {
            text += "; the bucket is in \(region), set AWS_REGION=\(region)"
        }
        return text
    }
}
