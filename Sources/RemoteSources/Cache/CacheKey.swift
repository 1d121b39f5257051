/// Where the parts of one object version live in the disk cache: a folder named by a hash of
/// the identity, which names the object's location, its version and the part size. Every entry
/// repeats the identity in its trailer, so a hash collision finds nothing rather than wrong bytes.
struct CacheKey: Hashable, Sendable {
    /// Sixteen hex digits naming the object version (a hash of the identity).
    var object: String
    /// What the parts belong to, as entries record it.
    var identity: String

    /// The key of `version` of the object at `location` (an `ObjectEndpoint.locationIdentity`)
    /// read in parts of `partSize`, or of what a listing named `listed` (a URL that never serves
    /// other bytes); nil when the version cannot be told apart from a later one (no ETag, no
    /// Last-Modified, no listing), whose parts are never cached.
    init?(location: String, version: ObjectVersion, listed: String? = nil, partSize: UInt64) {
        guard let named = version.isIdentifiable ? version.identity : listed.map({ "size \(version.size)\nlisted \($0)" }) else { return nil }
        identity = "tensorfs part cache 1\n\(location)\n\(named)\npart size \(partSize)"
        object = XXHash64.hash(identity).paddedHex
    }

    /// The entry of part `part`.
    func entry(_ part: UInt64) -> CacheEntryName {
        CacheEntryName(object: object, part: part)
    }
}

/// Where one part of one object version lives in the cache.
struct CacheEntryName: Hashable, Sendable {
    /// The folder: sixteen hex digits naming the object version.
    var object: String
    /// The part number, which names the file.
    var part: UInt64

    /// The path below the cache's root.
    var relativePath: String { "\(object)/\(part)" }
}
