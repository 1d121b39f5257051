/// Builds a `Namespace`: directories on demand, files with their views, then the sorted
/// child lists and the lookup table in one pass at the end.
struct NamespaceBuilder {
    private var nodes: [Node] = []
    private var names: [UInt8] = []
    private var directoryNodes: [DirectoryKey: UInt32] = [:]
    private var directoryCount: UInt32 = 0

    private struct DirectoryKey: Hashable {
        var parent: UInt32
        var name: [UInt8]
    }

    /// The root directory's node.
    static let root: UInt32 = 0

    init() {
        nodes.append(Node(parent: 0, nameStart: 0, nameLength: 0, kind: .directory, payload: 0))
        directoryCount = 1
    }

    /// The directory `name` inside `parent`, created if new.
    mutating func directory(named name: [UInt8], in parent: UInt32) -> UInt32 {
        let key = DirectoryKey(parent: parent, name: name)
        if let existing = directoryNodes[key] { return existing }
        let index = UInt32(nodes.count)
        nodes.append(Node(parent: parent, nameStart: store(name), nameLength: UInt16(name.count), kind: .directory, payload: directoryCount))
        directoryCount += 1
        directoryNodes[key] = index
        return index
    }

    /// Adds one file node per kind in `kinds`, all sharing the base name `name`.
    mutating func addFiles(named name: [UInt8], in parent: UInt32, kinds: [NodeKind], payload: UInt32) {
        let start = store(name)
        for kind in kinds {
            nodes.append(Node(parent: parent, nameStart: start, nameLength: UInt16(name.count), kind: kind, payload: payload))
        }
    }

    /// Adds every tensor of `model` below directory `root`, the tensors numbered from
    /// `firstTensor`, plus the model's generated root files (`number` is their payload).
    /// `fileKinds` are the kinds of the views' nodes: whole tensors, or one rank's slices.
    mutating func addModel(_ model: LogicalModel, number: UInt32, firstTensor: Int, at root: UInt32, layout: Layout, views: ViewSet, generatedFiles: [NodeKind], fileKinds: TensorFileKinds = .wholeTensors) {
        for kind in generatedFiles {
            addFiles(named: Array(kind.rootFileName!.utf8), in: root, kinds: [kind], payload: number)
        }
        let viewKinds = [(ViewSet.raw, fileKinds.raw), (.json, fileKinds.json), (.npy, fileKinds.npy)]
            .filter { views.contains($0.0) }.map(\.1)
        let planner = TensorPathPlanner(names: model.tensors.map(\.name), layout: layout)
        // Consecutive tensors usually share directories: resume from the common prefix.
        var previousPath: [[UInt8]] = []
        var previousNodes: [UInt32] = []
        for (offset, tensor) in model.tensors.enumerated() {
            let path = planner.path(of: tensor.name)
            var common = 0
            while common < min(path.directories.count, previousPath.count) && path.directories[common] == previousPath[common] {
                common += 1
            }
            previousNodes.removeSubrange(common...)
            var parent = common == 0 ? root : previousNodes[common - 1]
            for component in path.directories[common...] {
                parent = directory(named: component, in: parent)
                previousNodes.append(parent)
            }
            previousPath = path.directories
            addFiles(named: path.file, in: parent, kinds: viewKinds, payload: UInt32(firstTensor + offset))
        }
    }

    private mutating func store(_ name: [UInt8]) -> UInt32 {
        let start = UInt32(names.count)
        names += name
        return start
    }

    /// Freezes the tree: groups and sorts children, counts subdirectories, fills the table.
    func build() -> Namespace {
        var directories = [DirectoryInfo](repeating: DirectoryInfo(firstChild: 0, childCount: 0, subdirectoryCount: 0), count: Int(directoryCount))
        for node in nodes.dropFirst() {
            let directory = Int(nodes[Int(node.parent)].payload)
            directories[directory].childCount += 1
            if node.kind == .directory { directories[directory].subdirectoryCount += 1 }
        }
        var next: UInt32 = 0
        for index in directories.indices {
            directories[index].firstChild = next
            next += directories[index].childCount
        }
        var fill = directories.map(\.firstChild)
        var children = [UInt32](repeating: 0, count: nodes.count - 1)
        for (index, node) in nodes.enumerated().dropFirst() {
            let directory = Int(nodes[Int(node.parent)].payload)
            children[Int(fill[directory])] = UInt32(index + 1)
            fill[directory] += 1
        }
        names.withUnsafeBufferPointer { allNames in
            for info in directories where info.childCount > 1 {
                let range = Int(info.firstChild)..<Int(info.firstChild + info.childCount)
                children[range].sort { NamespaceBuilder.precedes(nodes[Int($0 - 1)], nodes[Int($1 - 1)], names: allNames) }
            }
        }
        return Namespace(nodes: nodes, directories: directories, children: children, names: names, lookupTable: lookupTable())
    }

    private func lookupTable() -> [UInt32] {
        var capacity = 1
        while capacity < nodes.count * 2 { capacity <<= 1 }
        var table = [UInt32](repeating: 0, count: capacity)
        let mask = capacity - 1
        for (index, node) in nodes.enumerated().dropFirst() {
            let start = Int(node.nameStart)
            let name = names[start..<start + Int(node.nameLength)]
            var slot = Int(truncatingIfNeeded: Namespace.hash(parent: node.parent, name: name, suffix: node.kind.suffix)) & mask
            while table[slot] != 0 { slot = (slot + 1) & mask }
            table[slot] = UInt32(index + 1)
        }
        return table
    }

    /// Orders nodes by their full names' bytes (base name, then view suffix).
    private static func precedes(_ lhs: Node, _ rhs: Node, names: UnsafeBufferPointer<UInt8>) -> Bool {
        let left = UnsafeBufferPointer(rebasing: names[Int(lhs.nameStart)..<Int(lhs.nameStart) + Int(lhs.nameLength)])
        let right = UnsafeBufferPointer(rebasing: names[Int(rhs.nameStart)..<Int(rhs.nameStart) + Int(rhs.nameLength)])
        return (left + Array(lhs.kind.suffix.utf8)).lexicographicallyPrecedes(right + Array(rhs.kind.suffix.utf8))
    }
}

/// The node kinds of the three views of a tensor in one tree.
struct TensorFileKinds {
    var raw: NodeKind
    var json: NodeKind
    var npy: NodeKind

    /// The model's own tensors.
    static let wholeTensors = TensorFileKinds(raw: .tensor, json: .sidecar, npy: .npy)
    /// One rank's slices of them.
    static let slices = TensorFileKinds(raw: .slice, json: .sliceSidecar, npy: .sliceNpy)
}
