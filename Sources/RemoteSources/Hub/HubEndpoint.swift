import SafetensorsFormat

/// Where requests to the Hub go: an API document, or a file of a repository at a pinned commit
/// (`{endpoint}/ORG/NAME/resolve/COMMIT/PATH`). The token goes to the endpoint's own origin
/// only, never to the CDN its redirects lead to; so do preconditions (`If-Match`), since a
/// file's URL names one version for good. Refusals are explained the Hub's way
/// (`HubRefusal`); a file's answers are checked against its commit (`X-Repo-Commit`) and
/// against the size and content hash (`X-Linked-ETag`) its listing gave.
final class HubEndpoint: ObjectEndpoint, @unchecked Sendable {
    let displayName: String
    let listed: ListedObject?
    private let http: HTTPObjectEndpoint
    private let location: HubLocation
    private let pin: (commit: String, file: HubFile)?
    private let token: HubToken?

    /// The API document at `path` (below the endpoint, encoded), about `location`.
    init(document path: String, about location: HubLocation, settings: HubSettings) {
        self.location = location
        displayName = location.text
        token = settings.token
        pin = nil
        listed = nil
        http = HTTPObjectEndpoint(url: settings.url(path), headers: settings.headers)
    }

    /// The file `file` of the repository at `commit`, shown as `location`.
    init(file: HubFile, at commit: String, shownAs location: HubLocation, settings: HubSettings) {
        self.location = location
        displayName = location.text
        token = settings.token
        pin = (commit, file)
        let path = "/" + PercentEncoding.encodePath(location.repository.id) + "/resolve/" + commit + "/" + PercentEncoding.encodePath(file.path)
        http = HTTPObjectEndpoint(url: settings.url(path), headers: settings.headers, conditionalAtOrigin: false)
        listed = ListedObject(
            size: file.size,
            identity: "hub file \(settings.endpoint.display) \(location.repository.id)@\(commit) \(file.path) \(file.sha256 ?? file.blobID ?? "-")")
    }

    var locationIdentity: String { http.locationIdentity }

    func request(for range: ByteRange?, conditions: [String]) -> HTTPRequest {
        http.request(for: range, conditions: conditions)
    }

    func follow(redirect head: ResponseHead) -> RedirectOutcome {
        http.follow(redirect: head)
    }

    func returnToOriginalLocation() -> Bool {
        http.returnToOriginalLocation()
    }

    func explain(_ result: TransferResult) -> String {
        HubRefusal.explain(result.head, what: location, token: token)
    }

    func mismatch(in head: ResponseHead) -> String? {
        guard let (commit, file) = pin else { return nil }
        if let resolved = head.repoCommit, resolved != commit {
            return "the Hub resolved it at commit \(resolved), not at \(commit), which was mounted"
        }
        if let linked = head.linkedETag.map(Self.bareHash), let sha256 = file.sha256, linked != sha256 {
            return "its content hash (X-Linked-ETag) is \(linked), the listing of commit \(commit) says \(sha256)"
        }
        let total = head.contentRange?.total ?? (head.status == 200 ? head.contentLength : nil)
        if let total, let size = file.size, total != size {
            return "it is \(total) bytes, the listing of commit \(commit) says \(size)"
        }
        return nil
    }

    /// An ETag without its quotes and weakness mark.
    private static func bareHash(_ etag: String) -> String {
        var text = Substring(etag)
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        return String(text.filter { $0 != "\"" })
    }
}
