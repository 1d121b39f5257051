import SafetensorsFormat

/// An inode number as FUSE sees it; the root is 1.
public struct InodeNumber: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The raw number.
    public var rawValue: UInt64
    /// Wraps a raw number.
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    /// The root directory's number.
    public static let root = InodeNumber(1)

    public static func < (lhs: InodeNumber, rhs: InodeNumber) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}

/// What a node of the namespace is.
public enum NodeKind: UInt8, Sendable {
    case directory
    /// A tensor's raw bytes; the payload is the tensor's number.
    case tensor
    /// A tensor's JSON sidecar; the payload is the tensor's number.
    case sidecar
    /// A tensor as a NumPy file; the payload is the tensor's number.
    case npy
    /// A model's `__metadata__.json`; the payload is the model's number.
    case metadata
    /// A model's `model.safetensors`; the payload is the model's number.
    case mergedModel
    /// One rank's slice of a tensor; the payload is the slice's number (see `TensorParallelViews`).
    case slice
    /// A slice's JSON sidecar; the payload is the slice's number.
    case sliceSidecar
    /// A slice as a NumPy file; the payload is the slice's number.
    case sliceNpy
    /// A rank's `__metadata__.json`; the payload is the rank view's number.
    case rankMetadata
    /// A rank's `model.safetensors`; the payload is the rank view's number.
    case rankModel

    /// What a tensor view appends to the tensor file's name, as bytes that live as long as the
    /// program (the namespace hashes and compares them for every node).
    var suffixBytes: UnsafeRawBufferPointer {
        let text: StaticString = switch self {
        case .sidecar, .sliceSidecar: ".json"
        case .npy, .sliceNpy: ".npy"
        default: ""
        }
        return UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
    }

    /// The name of a file generated at a model's (or a rank's) root; nil for other kinds.
    var rootFileName: String? {
        switch self {
        case .metadata, .rankMetadata: "__metadata__.json"
        case .mergedModel, .rankModel: "model.safetensors"
        default: nil
        }
    }
}

/// One entry of the namespace, packed into 16 bytes: there may be millions.
struct Node {
    var parent: UInt32
    var nameStart: UInt32
    var nameLength: UInt16
    var kind: NodeKind
    /// For a directory, its index in `Namespace.directories`; for files, see `NodeKind`.
    var payload: UInt32
}

/// Where a directory's children are listed in `Namespace.children`.
struct DirectoryInfo {
    var firstChild: UInt32
    var childCount: UInt32
    var subdirectoryCount: UInt32
}

/// The tree of paths and inode numbers over one or more models: immutable once built, so
/// any number of threads may query it at once.
public struct Namespace: Sendable {
    let nodes: [Node]
    let directories: [DirectoryInfo]
    /// Children of every directory, grouped by directory and sorted by name.
    let children: [UInt32]
    /// Names of all nodes without view suffixes.
    let names: [UInt8]
    /// Open-addressed table of node numbers + 1 (0 is empty), keyed by (parent, full name).
    let lookupTable: [UInt32]

    /// How many inodes the namespace holds.
    public var count: Int { nodes.count }

    /// The node with number `inode`, if it exists.
    func node(_ inode: InodeNumber) -> Node? {
        guard inode.rawValue >= 1, inode.rawValue <= UInt64(nodes.count) else { return nil }
        return nodes[Int(inode.rawValue - 1)]
    }

    /// What `inode` is and its payload, if it exists.
    public func entry(_ inode: InodeNumber) -> (kind: NodeKind, payload: Int)? {
        node(inode).map { ($0.kind, Int($0.payload)) }
    }

    /// The parent directory of `inode` (the root is its own parent).
    public func parent(of inode: InodeNumber) -> InodeNumber? {
        node(inode).map { InodeNumber(UInt64($0.parent) + 1) }
    }

    /// The name of `inode` within its directory, as bytes.
    public func name(of inode: InodeNumber) -> [UInt8] {
        guard let node = node(inode) else { return [] }
        return nameBytes(of: node)
    }

    func nameBytes(of node: Node) -> [UInt8] {
        let start = Int(node.nameStart)
        return Array(names[start..<start + Int(node.nameLength)]) + Array(node.kind.suffixBytes)
    }

    /// The child of directory `parent` called `name`.
    public func lookup(_ name: UnsafeRawBufferPointer, in parent: InodeNumber) -> InodeNumber? {
        guard let directory = node(parent), directory.kind == .directory, !lookupTable.isEmpty else { return nil }
        let parentIndex = UInt32(parent.rawValue - 1)
        let mask = lookupTable.count - 1
        var slot = Int(truncatingIfNeeded: Namespace.hash(parent: parentIndex, name: name)) & mask
        while true {
            let entry = lookupTable[slot]
            if entry == 0 { return nil }
            let candidate = nodes[Int(entry - 1)]
            if candidate.parent == parentIndex && nameEquals(candidate, name) {
                return InodeNumber(UInt64(entry))
            }
            slot = (slot + 1) & mask
        }
    }

    /// The child of `parent` called `name`, for callers holding a string.
    public func lookup(_ name: String, in parent: InodeNumber) -> InodeNumber? {
        var copy = name
        return copy.withUTF8 { lookup(UnsafeRawBufferPointer($0), in: parent) }
    }

    /// Follows `path` (components separated by `/`) from the root.
    public func resolve(_ path: String) -> InodeNumber? {
        var current = InodeNumber.root
        for component in path.split(separator: "/") {
            guard let next = lookup(String(component), in: current) else { return nil }
            current = next
        }
        return current
    }

    /// The children of directory `inode`, sorted by name; empty for files.
    public func children(of inode: InodeNumber) -> ArraySlice<UInt32> {
        guard let node = node(inode), node.kind == .directory else { return [] }
        let info = directories[Int(node.payload)]
        return children[Int(info.firstChild)..<Int(info.firstChild + info.childCount)]
    }

    /// How many subdirectories `inode` holds (for its link count).
    public func subdirectoryCount(of inode: InodeNumber) -> Int {
        guard let node = node(inode), node.kind == .directory else { return 0 }
        return Int(directories[Int(node.payload)].subdirectoryCount)
    }

    private func nameEquals(_ node: Node, _ name: UnsafeRawBufferPointer) -> Bool {
        let suffix = node.kind.suffixBytes
        let baseLength = Int(node.nameLength)
        guard name.count == baseLength + suffix.count else { return false }
        let start = Int(node.nameStart)
        return names.withUnsafeBytes { all in
            let stored = UnsafeRawBufferPointer(rebasing: all[start..<start + baseLength])
            return stored.hasSameBytes(as: UnsafeRawBufferPointer(rebasing: name[..<baseLength]))
                && suffix.hasSameBytes(as: UnsafeRawBufferPointer(rebasing: name[baseLength...]))
        }
    }

    static func hash(parent: UInt32, name: UnsafeRawBufferPointer, suffix: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) -> UInt64 {
        var hasher = NameHasher(seed: UInt64(parent))
        hasher.combine(name)
        hasher.combine(suffix)
        return hasher.value
    }
}
