/// What remote sources report while a mount loads, so that a slow mount can show how far it
/// got: objects found under a prefix, headers fetched, requests tried again.
public enum RemoteProgress: Sendable, Equatable {
    /// The prefix `location` was listed and holds `objects` objects.
    case listed(location: String, objects: Int)
    /// The first bytes of an object (its header, for a `.safetensors` file) arrived.
    case fetchedHeader(object: String)
    /// A request for `object` failed for `reason` and is tried again.
    case retrying(object: String, reason: String)
}
