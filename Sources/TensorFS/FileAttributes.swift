import ByteSources

/// What `stat` reports for a node.
public struct FileAttributes: Sendable, Hashable {
    /// The node's inode number.
    public var inode: InodeNumber
    /// Whether the node is a directory.
    public var isDirectory: Bool
    /// The size in bytes.
    public var size: UInt64
    /// The number of hard links: 1 for files, 2 plus subdirectories for directories.
    public var linkCount: UInt32
    /// Permission bits: 0444 for files, 0555 for directories.
    public var permissions: UInt32
    /// The modification time, taken from the source files.
    public var modificationTime: Timestamp
}

/// A `user.` extended attribute of a file.
public struct ExtendedAttribute: Sendable, Hashable {
    /// The full name, e.g. `user.tensorfs.dtype`.
    public var name: String
    /// The value's bytes.
    public var value: [UInt8]
}

extension ExtendedAttribute {
    /// `user.tensorfs.NAME` with `value`.
    static func named(_ name: String, _ value: String) -> ExtendedAttribute {
        ExtendedAttribute(name: "user.tensorfs." + name, value: Array(value.utf8))
    }

    /// A shape as `[a,b,c]`.
    static func shapeText(_ shape: [UInt64]) -> String {
        "[" + shape.map(String.init).joined(separator: ",") + "]"
    }
}
