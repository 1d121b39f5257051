import SafetensorsFormat

/// What a node of the namespace is; what its payload and variant mean depends on it.
enum NodeKind: UInt8, Sendable {
    /// A directory; the payload is its index in `NamespaceTable.directories`.
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

/// Where a directory's children are listed in `NamespaceTable.children`.
struct DirectoryInfo {
    var firstChild: UInt32
    var childCount: UInt32
    var subdirectoryCount: UInt32
}

/// Nodes frozen into tables that answer by node number: names, children sorted by name, and
/// lookups by (parent, name). Immutable, so any number of threads may query it at once.
struct NamespaceTable: Sendable {
    let nodes: [Node]
    let directories: [DirectoryInfo]
    /// Children of every directory (node numbers + 1), grouped by directory and sorted by name.
    let children: [UInt32]
    /// Names of all nodes without view suffixes.
    let names: [UInt8]
    /// Open-addressed table of node numbers + 1 (0 is empty), keyed by (parent, full name).
    let lookupTable: [UInt32]

    /// The name of `node`, suffix included.
    func nameBytes(of node: Node) -> [UInt8] {
        let start = Int(node.nameStart)
        return Array(names[start..<start + Int(node.nameLength)]) + Array(node.suffix)
    }

    /// The child of directory node `parent` called `name`.
    func lookup(_ name: UnsafeRawBufferPointer, inNode parent: UInt32) -> UInt32? {
        guard !lookupTable.isEmpty else { return nil }
        let mask = lookupTable.count - 1
        var slot = Int(truncatingIfNeeded: NamespaceTable.hash(parent: parent, name: name)) & mask
        while true {
            let entry = lookupTable[slot]
            if entry == 0 { return nil }
            let candidate = nodes[Int(entry - 1)]
            if candidate.parent == parent && nameEquals(candidate, name) { return entry - 1 }
            slot = (slot + 1) & mask
        }
    }

    /// The children of directory node `index` (node numbers + 1), sorted by name.
    func children(ofNode index: UInt32) -> ArraySlice<UInt32> {
        let node = nodes[Int(index)]
        guard node.kind == .directory else { return [] }
        let info = directories[Int(node.payload)]
        return children[Int(info.firstChild)..<Int(info.firstChild + info.childCount)]
    }

    /// How many subdirectories directory node `index` holds.
    func subdirectoryCount(ofNode index: UInt32) -> Int {
        let node = nodes[Int(index)]
        guard node.kind == .directory else { return 0 }
        return Int(directories[Int(node.payload)].subdirectoryCount)
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
}
