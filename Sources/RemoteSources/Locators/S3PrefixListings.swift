import ByteSources
import Synchronization

/// The listings of S3 prefixes a process has taken, each at any depth and once: the entries of
/// a directory SOURCE (the objects directly under its prefix) and its companion files (every
/// object below it) come from one set of ListObjectsV2 pages.
final class S3PrefixListings: Sendable {
    private let listings = Mutex<[S3Location: Result<[String], ModelError>]>([:])

    /// The names below `prefix` (relative to it, at any depth), from `list` the first time
    /// they are asked for; a failure is remembered like a listing.
    func names(below prefix: S3Location, list: () throws(ModelError) -> [String]) throws(ModelError) -> [String] {
        let result = listings.withLock { known in
            if let found = known[prefix] { return found }
            let listed = Result { () throws(ModelError) -> [String] in try list() }
            known[prefix] = listed
            return listed
        }
        return try result.get()
    }
}
