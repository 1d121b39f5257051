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

/// What a node of the namespace is; what its payload and variant mean depends on it.
enum NodeKind: UInt8, Sendable {
    /// A directory; the payload is its index in `Namespace.directories`.
    case directory
    /// A directory whose contents mirror a model's tree (a rank's `rank-R`); the payload is the
    /// mirror's number.
    case mirrorRoot
    /// A file of a tensor; the variant is the view (`TensorViews.all`), the payload the tensor's
    /// number in the filesystem.
    case tensorFile
    /// A file about a whole model at its root; the variant is a `ModelFileKind`, the payload the
    /// model's number.
    case modelFile
    /// A file that travels with the weights (`config.json`, ...); the payload is its number.
    case companionFile

    /// Whether nodes of this kind have children.
    var isDirectory: Bool { self == .directory || self == .mirrorRoot }
}

/// One entry of the namespace, packed into 16 bytes: there may be millions.
struct Node {
    var parent: UInt32
    var nameStart: UInt32
    var nameLength: UInt16
    var kind: NodeKind
    var variant: UInt8
    var payload: UInt32

    /// What the node's name has after its stored base name (a view's `.json`): a tensor's
    /// views share one stored name.
    var suffix: UnsafeRawBufferPointer {
        kind == .tensorFile ? TensorViews.suffixes[Int(variant)] : UnsafeRawBufferPointer(start: nil, count: 0)
    }
}

/// Where a directory's children are listed in `Namespace.children`.
struct DirectoryInfo {
    var firstChild: UInt32
    var childCount: UInt32
    var subdirectoryCount: UInt32
}

/// The nodes of one model's tree: the model's root directory and the range of nodes below it
/// (its files, directories and companions; not its `tp-N` directories), which rank trees
/// mirror.
struct ModelTree {
    /// The node of the model's root directory.
    var root: UInt32
    /// The nodes below the root, in creation order.
    var nodes: Range<UInt32>
    /// The root's children that lie in `nodes` (node numbers + 1, as in `Namespace.children`),
    /// sorted by name: what a mirror's root lists.
    var rootChildren: [UInt32]
    /// How many of `rootChildren` are directories.
    var rootSubdirectoryCount: UInt32
}

/// A tree shown again under another directory with inode numbers of its own (a rank's
/// `rank-R/`, which mirrors its model's tree): it costs no nodes.
struct Mirror {
    /// The model tree mirrored.
    var tree: Int
    /// The node of the directory the mirror appears in.
    var root: UInt32
    /// The inode number of the mirror's first node (`tree.nodes.lowerBound`).
    var firstInode: UInt64
}

/// A node seen through the namespace: the stored node, and the mirror it is seen in, if any.
struct NodeReference {
    /// The stored node's index.
    var index: UInt32
    /// The mirror the node is seen in; nil for the stored tree itself.
    var mirror: Int?
}

/// The tree of paths and inode numbers over one or more models: immutable once built, so
/// any number of threads may query it at once.
///
/// Stored nodes have inode numbers 1...`storedCount`, the root first. Mirrors follow, each a
/// block of numbers as long as the tree it mirrors: node `n` of a mirrored tree is inode
/// `firstInode + (n - tree.nodes.lowerBound)` in the mirror. Numbers depend only on the sources
/// and options, so they are the same on every mount.
struct Namespace: Sendable {
    let nodes: [Node]
    let directories: [DirectoryInfo]
    /// Children of every directory (node numbers + 1), grouped by directory and sorted by name.
    let children: [UInt32]
    /// Names of all nodes without view suffixes.
    let names: [UInt8]
    /// Open-addressed table of node numbers + 1 (0 is empty), keyed by (parent, full name).
    let lookupTable: [UInt32]
    let trees: [ModelTree]
    let mirrors: [Mirror]

    /// How many nodes are stored (the highest inode number outside mirrors).
    var storedCount: Int { nodes.count }

    /// How many inodes there are, mirrors included.
    var count: UInt64 {
        UInt64(nodes.count) + mirrors.reduce(0) { $0 + UInt64(trees[$1.tree].nodes.count) }
    }

    /// What `inode` stands for, if it exists.
    func reference(_ inode: InodeNumber) -> NodeReference? {
        guard inode.rawValue >= 1 else { return nil }
        if inode.rawValue <= UInt64(nodes.count) { return NodeReference(index: UInt32(inode.rawValue - 1), mirror: nil) }
        guard !mirrors.isEmpty else { return nil }
        let mirror = mirrors.lazy.map(\.firstInode).lastIndex(atOrBelow: inode.rawValue)
        let tree = trees[mirrors[mirror].tree]
        let offset = inode.rawValue - mirrors[mirror].firstInode
        guard offset < UInt64(tree.nodes.count) else { return nil }
        return NodeReference(index: tree.nodes.lowerBound + UInt32(offset), mirror: mirror)
    }

    /// The stored node that `reference` names.
    func node(_ reference: NodeReference) -> Node {
        nodes[Int(reference.index)]
    }

    /// The inode number of node `index` seen in `mirror`.
    func inode(ofNode index: UInt32, in mirror: Int?) -> InodeNumber {
        guard let mirror else { return InodeNumber(UInt64(index) + 1) }
        let tree = trees[mirrors[mirror].tree]
        return InodeNumber(mirrors[mirror].firstInode + UInt64(index - tree.nodes.lowerBound))
    }

    /// The directory holding `inode` (the root is its own parent).
    func parent(of inode: InodeNumber) -> InodeNumber? {
        guard let reference = reference(inode) else { return nil }
        let parent = node(reference).parent
        if let mirror = reference.mirror, parent == trees[mirrors[mirror].tree].root {
            return self.inode(ofNode: mirrors[mirror].root, in: nil)
        }
        return self.inode(ofNode: parent, in: reference.mirror)
    }

    /// The name of `inode` within its directory, as bytes.
    func name(of inode: InodeNumber) -> [UInt8] {
        guard let reference = reference(inode) else { return [] }
        return nameBytes(of: node(reference))
    }

    func nameBytes(of node: Node) -> [UInt8] {
        let start = Int(node.nameStart)
        return Array(names[start..<start + Int(node.nameLength)]) + Array(node.suffix)
    }

    /// The child of directory `parent` called `name`.
    func lookup(_ name: UnsafeRawBufferPointer, in parent: InodeNumber) -> InodeNumber? {
        guard let reference = reference(parent) else { return nil }
        let directory = node(reference)
        switch directory.kind {
        case .directory:
            guard let found = lookup(name, inNode: reference.index) else { return nil }
            return inode(ofNode: found, in: reference.mirror)
        case .mirrorRoot:
            let mirror = Int(directory.payload)
            let tree = trees[mirrors[mirror].tree]
            guard let found = lookup(name, inNode: tree.root), tree.nodes.contains(found) else { return nil }
            return inode(ofNode: found, in: mirror)
        default:
            return nil
        }
    }

    /// The child of `parent` called `name`, for callers holding a string.
    func lookup(_ name: String, in parent: InodeNumber) -> InodeNumber? {
        var copy = name
        return copy.withUTF8 { lookup(UnsafeRawBufferPointer($0), in: parent) }
    }

    /// Follows `path` (components separated by `/`) from the root.
    func resolve(_ path: String) -> InodeNumber? {
        var current = InodeNumber.root
        for component in path.split(separator: "/") {
            guard let next = lookup(String(component), in: current) else { return nil }
            current = next
        }
        return current
    }

    /// The stored child of node `parent` called `name`.
    private func lookup(_ name: UnsafeRawBufferPointer, inNode parent: UInt32) -> UInt32? {
        guard !lookupTable.isEmpty else { return nil }
        let mask = lookupTable.count - 1
        var slot = Int(truncatingIfNeeded: Namespace.hash(parent: parent, name: name)) & mask
        while true {
            let entry = lookupTable[slot]
            if entry == 0 { return nil }
            let candidate = nodes[Int(entry - 1)]
            if candidate.parent == parent && nameEquals(candidate, name) { return entry - 1 }
            slot = (slot + 1) & mask
        }
    }

    /// The children of directory `inode`, sorted by name; empty for files.
    func children(of inode: InodeNumber) -> Children {
        guard let reference = reference(inode) else { return Children(list: [], mirror: nil, namespace: self) }
        let directory = node(reference)
        switch directory.kind {
        case .directory:
            let info = directories[Int(directory.payload)]
            return Children(list: children[Int(info.firstChild)..<Int(info.firstChild + info.childCount)], mirror: reference.mirror, namespace: self)
        case .mirrorRoot:
            let mirror = Int(directory.payload)
            return Children(list: trees[mirrors[mirror].tree].rootChildren[...], mirror: mirror, namespace: self)
        default:
            return Children(list: [], mirror: nil, namespace: self)
        }
    }

    /// How many subdirectories `inode` holds (for its link count).
    func subdirectoryCount(of inode: InodeNumber) -> Int {
        guard let reference = reference(inode) else { return 0 }
        let directory = node(reference)
        switch directory.kind {
        case .directory: return Int(directories[Int(directory.payload)].subdirectoryCount)
        case .mirrorRoot: return Int(trees[mirrors[Int(directory.payload)].tree].rootSubdirectoryCount)
        default: return 0
        }
    }

    private func nameEquals(_ node: Node, _ name: UnsafeRawBufferPointer) -> Bool {
        let suffix = node.suffix
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

    /// A directory's children in order, as inode numbers, without copying the list.
    struct Children: RandomAccessCollection {
        let list: ArraySlice<UInt32>
        let mirror: Int?
        let namespace: Namespace

        var startIndex: Int { 0 }
        var endIndex: Int { list.count }

        subscript(position: Int) -> InodeNumber {
            let entry = list[list.startIndex + position]
            return namespace.inode(ofNode: entry - 1, in: mirror)
        }
    }
}
