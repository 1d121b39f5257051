/// One `key: value` pair of a header's `__metadata__`.
public struct MetadataEntry: Hashable, Sendable {
    /// The key.
    public var key: String
    /// The value; the format allows strings only.
    public var value: String

    /// Creates a pair.
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}
