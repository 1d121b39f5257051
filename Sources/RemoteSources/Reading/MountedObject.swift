import ByteSources
import SafetensorsFormat
import Synchronization

/// One remote object as it was when mounted: where it is, its version (size and validators) and
/// its first bytes. Fetches are checked against what was pinned; once the object is found
/// changed, that is remembered (later reads fail at once) and logged once.
///
/// A server that sends neither ETag nor Last-Modified leaves only the size and the first bytes
/// to check: a change that keeps both goes unnoticed, which the mount warns about.
final class MountedObject: Sendable {
    /// How users see the object.
    let displayName: String
    /// Where its bytes are requested.
    let endpoint: any ObjectEndpoint
    /// The version mounted.
    let version: ObjectVersion
    /// Its first bytes, read at mount.
    let head: [UInt8]
    /// Where its parts go in the disk cache; nil when they are not cached.
    let cacheKey: CacheKey?
    private let log: EventLog
    private let changed = Mutex<ByteSourceError?>(nil)

    /// The object at `endpoint` as first read: `version`, whose first bytes are `head`.
    init(endpoint: any ObjectEndpoint, version: ObjectVersion, head: [UInt8], partSize: UInt64, log: EventLog) {
        displayName = endpoint.displayName
        self.endpoint = endpoint
        self.version = version
        self.head = head
        self.log = log
        cacheKey = CacheKey(location: endpoint.locationIdentity, version: version, listed: endpoint.listed?.identity, partSize: partSize)
    }

    /// Why a change of the object might go unnoticed, or nil when its validators catch any (or
    /// its URL never serves other bytes: it was listed).
    var undetectableChanges: String? {
        guard !version.isIdentifiable, endpoint.listed == nil else { return nil }
        return "\(displayName): the server sends neither ETag nor Last-Modified, so a change of the file while mounted is noticed only if its size or its first \(head.count) bytes change; otherwise reads may mix bytes of both versions (and its parts are not kept in --cache-dir)"
    }

    /// Fails when the object was found changed.
    func throwIfChanged() throws(ByteSourceError) {
        if let failure = changed.withLock({ $0 }) { throw failure }
    }

    /// Why `bytes`, fetched for `range`, cannot belong to the version mounted: they differ
    /// from the first bytes read at mount. Nil when they agree or lie past them.
    func headMismatch(_ bytes: UnsafeRawBufferPointer, at range: ByteRange) -> FetchFailure? {
        guard let shared = range.clamped(to: ByteRange(start: 0, end: UInt64(head.count))) else { return nil }
        let fetched = UnsafeRawBufferPointer(rebasing: bytes[Int(shared.start - range.start)..<Int(shared.end - range.start)])
        let same = head[Int(shared.start)..<Int(shared.end)].withUnsafeBytes { fetched.elementsEqual($0) }
        return same ? nil : .changed("its bytes \(shared) differ from those read when it was mounted")
    }

    /// The error for `failure`; a change is remembered (later reads fail at once) and logged once.
    func error(for failure: FetchFailure) -> ByteSourceError {
        switch failure {
        case .failed, .rangesIgnored:
            return ByteSourceError(source: displayName, reason: .remote(detail: failure.description))
        case .changed(let reason):
            let error = ByteSourceError(source: displayName, reason: .changed(detail: reason))
            let isFirst = changed.withLock { stored in
                defer { if stored == nil { stored = error } }
                return stored == nil
            }
            if isFirst {
                log.write(.error, "\(displayName) changed on the server since it was mounted (\(reason)); its reads fail with EIO until it is mounted again")
            }
            return error
        }
    }
}
