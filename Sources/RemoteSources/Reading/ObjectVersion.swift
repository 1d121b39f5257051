/// Which version of a remote object was mounted: its size and validators, recorded from the
/// first response. Every later request is conditional on the validators and every answer is
/// checked against the size, so bytes of two versions never mix when the server sends an ETag
/// or a Last-Modified (without either, see `MountedObject`).
struct ObjectVersion: Hashable, Sendable {
    /// The object's size in bytes.
    var size: UInt64
    /// The `ETag`, as the server sent it.
    var etag: String?
    /// `Last-Modified`, as the server sent it.
    var lastModified: String?

    /// Whether the `ETag` is strong, so that `If-Match` can use it.
    var hasStrongETag: Bool { etag.map { !$0.hasPrefix("W/") } ?? false }

    /// The precondition headers for a request of this version: `If-Match` with a strong ETag,
    /// else `If-Unmodified-Since` with the modification time.
    var conditionHeaders: [String] {
        if hasStrongETag, let etag { return ["If-Match: \(etag)"] }
        if let lastModified { return ["If-Unmodified-Since: \(lastModified)"] }
        return []
    }

    /// Whether a change of the object can be told apart from its bytes, which a disk cache needs.
    var isIdentifiable: Bool { etag != nil || lastModified != nil }

    /// Why a response belongs to another version, or nil when it may be this one.
    func mismatch(with head: ResponseHead) -> String? {
        if let etag, let sent = head.etag, sent != etag {
            return "its ETag was \(etag) and is now \(sent)"
        }
        if let total = head.contentRange?.total ?? (head.status == 200 ? head.contentLength : nil), total != size {
            return "it was \(size) bytes and is now \(total)"
        }
        if etag == nil, let lastModified, let sent = head.lastModified, sent != lastModified {
            return "it was last modified \(lastModified) and now \(sent)"
        }
        return nil
    }

    /// A line that names this version, for cache keys.
    var identity: String {
        "size \(size)\netag \(etag ?? "-")\nlast-modified \(lastModified ?? "-")"
    }
}
