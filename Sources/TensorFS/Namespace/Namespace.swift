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

/// The nodes of one model's tree, which rank trees mirror.
struct ModelTree: Sendable {
    /// The node of the model's root directory.
    var root: UInt32
    /// The tree's nodes made at mount: the files and directories at its root, and its companion
    /// files (not its `tp-N` directories).
    var earlyNodes: Range<UInt32>
    /// The root's children (node numbers + 1, as in `NamespaceTable.children`) sorted by name:
    /// what a mirror's root lists. All of them are made at mount.
    var rootChildren: [UInt32]
    /// How many of `rootChildren` are directories.
    var rootSubdirectoryCount: UInt32
}

/// A tree shown again under another directory with inode numbers of its own (a rank's
/// `rank-R/`, which mirrors its model's tree): it costs no nodes.
struct Mirror: Sendable {
    /// The model tree mirrored.
    var tree: Int
    /// The node of the directory the mirror appears in.
    var root: UInt32
}

/// The namespace once every tree is complete: all nodes, and which of them each model's tree
/// gained when it was completed.
struct CompleteNamespace: Sendable {
    let table: NamespaceTable
    /// Per model tree, the nodes made when it was completed (below its root's directories).
    let lateNodes: [Range<UInt32>]
}

/// A node seen through the namespace: the stored node, and the mirror it is seen in, if any.
struct NodeReference {
    /// The stored node's number.
    var index: UInt32
    /// The mirror the node is seen in; nil for the stored tree itself.
    var mirror: Int?
}

/// The tree of paths and inode numbers over one or more models, made in two steps: at mount
/// only what each model's root holds (its files, companion files, and the first directory of
/// each tensor's path), and the rest when something first looks below a tensor's directory.
/// A mount that loaders read through `model.safetensors` and `config.json` never makes the
/// rest. Any number of threads may query it at once.
///
/// Node `n` is inode `n + 1` (nodes made at mount come first and keep their numbers when the
/// rest is made), and node `n` seen in mirror `m` is `(m + 1) << 40 | (n + 1)`. Numbers depend
/// only on the sources and options, so they are the same on every mount, whatever is looked at
/// first.
final class Namespace: Sendable {
    /// The nodes made at mount.
    let early: NamespaceTable
    private let complete: Lazy<CompleteNamespace>
    let trees: [ModelTree]
    let mirrors: [Mirror]
    /// Directories made at mount whose children are not all made then: tensors' directories.
    private let partialDirectories: Set<UInt32>

    /// Where a mirror's number starts in an inode number.
    static let mirrorShift: UInt64 = 40
    private static let nodeMask: UInt64 = (1 << mirrorShift) - 1

    init(early: NamespaceTable, trees: [ModelTree], mirrors: [Mirror], partialDirectories: Set<UInt32>,
         complete: @escaping @Sendable () -> CompleteNamespace) {
        self.early = early
        self.trees = trees
        self.mirrors = mirrors
        self.partialDirectories = partialDirectories
        self.complete = Lazy(complete)
    }

    /// Whether every node has been made.
    var isComplete: Bool { complete.isAvailable }

    /// The table that knows node `index`.
    private func table(forNode index: UInt32) -> NamespaceTable {
        complete.isAvailable || index >= early.nodes.count ? complete.value.table : early
    }

    /// The table that knows every child of directory node `index`.
    private func table(forChildrenOf index: UInt32) -> NamespaceTable {
        partialDirectories.contains(index) && !complete.isAvailable ? complete.value.table : table(forNode: index)
    }

    /// How many inodes there are, mirrors included, counting only the nodes made so far.
    var count: UInt64 {
        let table = complete.isAvailable ? complete.value.table : early
        let treeSizes = trees.indices.map { tree in
            UInt64(trees[tree].earlyNodes.count) + (complete.isAvailable ? UInt64(complete.value.lateNodes[tree].count) : 0)
        }
        return UInt64(table.nodes.count) + mirrors.reduce(0) { $0 + treeSizes[$1.tree] }
    }

    /// What `inode` stands for, if it exists.
    func reference(_ inode: InodeNumber) -> NodeReference? {
        let number = inode.rawValue & Namespace.nodeMask
        guard number >= 1, number <= UInt64(UInt32.max) else { return nil }
        let index = UInt32(number - 1)
        let mirrorNumber = inode.rawValue >> Namespace.mirrorShift
        guard mirrorNumber > 0 else {
            guard index < early.nodes.count || index < complete.value.table.nodes.count else { return nil }
            return NodeReference(index: index, mirror: nil)
        }
        let mirror = Int(mirrorNumber - 1)
        guard mirror < mirrors.count else { return nil }
        let tree = mirrors[mirror].tree
        guard trees[tree].earlyNodes.contains(index) || complete.value.lateNodes[tree].contains(index) else { return nil }
        return NodeReference(index: index, mirror: mirror)
    }

    /// The stored node that `reference` names.
    func node(_ reference: NodeReference) -> Node {
        table(forNode: reference.index).nodes[Int(reference.index)]
    }

    /// The inode number of node `index` seen in `mirror`.
    func inode(ofNode index: UInt32, in mirror: Int?) -> InodeNumber {
        InodeNumber(UInt64(mirror.map { $0 + 1 } ?? 0) << Namespace.mirrorShift | UInt64(index + 1))
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
        return table(forNode: reference.index).nameBytes(of: node(reference))
    }

    /// The child of directory `parent` called `name`.
    func lookup(_ name: UnsafeRawBufferPointer, in parent: InodeNumber) -> InodeNumber? {
        guard let reference = reference(parent) else { return nil }
        let directory = node(reference)
        switch directory.kind {
        case .directory:
            guard let found = table(forChildrenOf: reference.index).lookup(name, inNode: reference.index) else { return nil }
            return inode(ofNode: found, in: reference.mirror)
        case .mirrorRoot:
            let mirror = Int(directory.payload)
            let tree = trees[mirrors[mirror].tree]
            guard let found = early.lookup(name, inNode: tree.root), tree.earlyNodes.contains(found) else { return nil }
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

    /// The children of directory `inode`, sorted by name; empty for files.
    func children(of inode: InodeNumber) -> Children {
        guard let reference = reference(inode) else { return Children(list: [], mirror: nil, namespace: self) }
        let directory = node(reference)
        switch directory.kind {
        case .directory:
            return Children(list: table(forChildrenOf: reference.index).children(ofNode: reference.index), mirror: reference.mirror, namespace: self)
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
        case .directory: return table(forChildrenOf: reference.index).subdirectoryCount(ofNode: reference.index)
        case .mirrorRoot: return Int(trees[mirrors[Int(directory.payload)].tree].rootSubdirectoryCount)
        default: return 0
        }
    }

    /// A directory's children in order, as inode numbers, without copying the list.
    struct Children: RandomAccessCollection {
        let list: ArraySlice<UInt32>
        let mirror: Int?
        let namespace: Namespace

        var startIndex: Int { 0 }
        var endIndex: Int { list.count }

        subscript(position: Int) -> InodeNumber {
            namespace.inode(ofNode: list[list.startIndex + position] - 1, in: mirror)
        }
    }
}
