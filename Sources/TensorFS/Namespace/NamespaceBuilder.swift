#if canImport(Glibc)
import Glibc
#endif
import SafetensorsFormat

/// Builds a `Namespace`: directories on demand, files with their views, then the sorted
/// child lists and the lookup table in one pass at the end.
struct NamespaceBuilder: Sendable {
    private var nodes: [Node] = []
    private var names: [UInt8] = []
    private var directoryCount: UInt32 = 0
    /// The directories made so far, keyed by `NamespaceTable.hash` of parent and name.
    private var directoryTable = SlotTable()
    private var trees: [ModelTree] = []
    private var mirrors: [Mirror] = []
    /// Directories made for tensors' paths while trees are only started.
    private var partialDirectories = Set<UInt32>()
    /// The directories of the last tensor added, by depth, below the root it was added at.
    private var openDirectories: (root: UInt32, path: [UInt32]) = (.max, [])
    /// The views shown for the tensor being added.
    private var shownViews: [UInt8] = []

    /// The root directory's node.
    static let root: UInt32 = 0

    init() {
        nodes.append(Node(parent: 0, nameStart: 0, nameLength: 0, kind: .directory, variant: 0, payload: 0))
        directoryCount = 1
    }

    /// The directory `name` inside `parent`, created if new.
    mutating func directory(named name: [UInt8], in parent: UInt32) -> UInt32 {
        name.withUnsafeBytes { directory(named: $0, in: parent) }
    }

    /// The directory `name` inside `parent`, created if new.
    mutating func directory(named name: UnsafeRawBufferPointer, in parent: UInt32) -> UInt32 {
        let hash = NamespaceTable.hash(parent: parent, name: name)
        let existing = directoryTable.first(hash: hash) { candidate in
            nodes[candidate].parent == parent && storedName(of: UInt32(candidate), equals: name)
        }
        if let existing { return UInt32(existing) }
        let index = UInt32(nodes.count)
        nodes.append(Node(parent: parent, nameStart: store(name), nameLength: UInt16(name.count), kind: .directory, variant: 0, payload: directoryCount))
        directoryCount += 1
        directoryTable.insert(Int(index), hash: hash)
        return index
    }

    /// The base name of `node` (without a view suffix) in the names' storage.
    private static func name(of node: Node, in names: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: names[Int(node.nameStart)..<Int(node.nameStart) + Int(node.nameLength)])
    }

    /// Whether node `index` is stored under the base name `name`.
    private func storedName(of index: UInt32, equals name: UnsafeRawBufferPointer) -> Bool {
        let node = nodes[Int(index)]
        guard Int(node.nameLength) == name.count else { return false }
        return names.withUnsafeBytes { NamespaceBuilder.name(of: node, in: $0).hasSameBytes(as: name) }
    }

    /// Adds one file node per view in `views` (indices into `TensorViews.all`), all sharing the
    /// base name `name`: a tensor's files.
    mutating func addTensorFiles(named name: UnsafeRawBufferPointer, in parent: UInt32, views: [UInt8], tensor: UInt32) {
        let start = store(name)
        for view in views {
            nodes.append(Node(parent: parent, nameStart: start, nameLength: UInt16(name.count), kind: .tensorFile, variant: view, payload: tensor))
        }
    }

    /// Adds a file node of `kind` named `name` in `parent`.
    mutating func addFile(named name: UnsafeRawBufferPointer, in parent: UInt32, kind: NodeKind, variant: UInt8 = 0, payload: UInt32) {
        nodes.append(Node(parent: parent, nameStart: store(name), nameLength: UInt16(name.count), kind: kind, variant: variant, payload: payload))
    }

    /// Paths of `tensors` of a model (indices into its tensors, in order), planned on all cores
    /// in chunks: whole paths, or with `rootEntriesOnly` each one's entry at the model's root
    /// (see `TensorPathPlanner.planRootEntry`), and then whether that entry is the whole path.
    /// The caller deallocates the paths.
    static func planPaths(of tensors: [Int], in model: LogicalModel, planner: TensorPathPlanner, rootEntriesOnly: Bool) -> [(paths: PathComponents, whole: [Bool])] {
        let chunkSize = max(1024, (tensors.count + 7) / 8)
        let chunks = stride(from: 0, to: tensors.count, by: chunkSize).map { tensors[$0..<min($0 + chunkSize, tensors.count)] }
        let modelTensors = model.tensors
        return chunks.parallelMap { chunk in
            var paths = PathComponents()
            var whole: [Bool] = []
            whole.reserveCapacity(rootEntriesOnly ? chunk.count : 0)
            for index in chunk {
                if rootEntriesOnly {
                    whole.append(planner.planRootEntry(modelTensors[index].name, into: &paths))
                } else {
                    planner.plan(modelTensors[index].name, into: &paths)
                }
            }
            return (paths, whole)
        }
    }

    /// Starts the tree of `model` below directory `root` with what its root holds: its files at
    /// the model's root (`modelFiles`, whose payload is `number`), its companion files at their
    /// paths (numbered from `firstCompanion`), and each tensor's entry at the root (`entries`,
    /// from `planPaths(rootEntriesOnly: true)`): the whole path of a tensor that has no
    /// directory of its own, with the files of `views` that show it, else the first directory
    /// of its path, whose rest `completeModelTree` adds. Returns the tree's number.
    mutating func startModelTree(
        _ model: LogicalModel, entries: [(paths: PathComponents, whole: [Bool])], number: UInt32, firstTensor: Int,
        firstCompanion: Int, at root: UInt32, views: [UInt8], modelFiles: [ModelFileKind]
    ) -> Int {
        let firstNode = UInt32(nodes.count)
        for kind in modelFiles {
            var name = kind.fileName
            name.withUTF8 { addFile(named: UnsafeRawBufferPointer($0), in: root, kind: .modelFile, variant: kind.rawValue, payload: number) }
        }
        for (offset, companion) in model.companions.enumerated() {
            let components = companion.relativePath.split(separator: "/").map { Array($0.utf8) }
            var parent = root
            for directory in components.dropLast() { parent = self.directory(named: directory, in: parent) }
            components.last!.withUnsafeBytes { addFile(named: $0, in: parent, kind: .companionFile, payload: UInt32(firstCompanion + offset)) }
        }
        var tensor = 0
        for (paths, whole) in entries {
            for path in 0..<paths.pathCount {
                if whole[path] {
                    addTensor(model.tensors[tensor].info, number: firstTensor + tensor, path: path, of: paths, at: root, views: views)
                } else {
                    partialDirectories.insert(directory(named: paths.component(paths.components(ofPath: path).lowerBound), in: root))
                }
                tensor += 1
            }
        }
        trees.append(ModelTree(root: root, earlyNodes: firstNode..<UInt32(nodes.count), rootChildren: [], rootSubdirectoryCount: 0))
        return trees.count - 1
    }

    /// Completes tree `tree` with the whole paths of its model's tensors that were only started
    /// (`paths`, in order, from `planPaths`, of the tensors numbered `tensors` in the model);
    /// returns the nodes added.
    mutating func completeModelTree(
        _ tree: Int, of model: LogicalModel, paths plans: [(paths: PathComponents, whole: [Bool])], tensors: [Int],
        firstTensor: Int, views: [UInt8]
    ) -> Range<UInt32> {
        let firstNode = UInt32(nodes.count)
        // Most models have fewer directories than twice their tensors: size the tables once.
        directoryTable.reserveCapacity(directoryTable.count + 2 * tensors.count)
        nodes.reserveCapacity(nodes.count + (views.count + 2) * tensors.count)
        var position = 0
        for (paths, _) in plans {
            for path in 0..<paths.pathCount {
                addTensor(model.tensors[tensors[position]].info, number: firstTensor + tensors[position], path: path, of: paths,
                          at: trees[tree].root, views: views)
                position += 1
            }
        }
        return firstNode..<UInt32(nodes.count)
    }

    /// Adds path `path` of `paths`, tensor `number`'s (described by `info`), below `root`: its
    /// directories, then the files of `views` that show it. Consecutive tensors usually share
    /// directories: the previous tensor's directories, by depth, are reused while the new path
    /// agrees with them.
    private mutating func addTensor(_ info: TensorInfo, number: Int, path: Int, of paths: PathComponents, at root: UInt32, views: [UInt8]) {
        let components = paths.components(ofPath: path)
        var parent = root
        if openDirectories.root != root { openDirectories = (root, []) }
        for (depth, index) in components.dropLast().enumerated() {
            let component = paths.component(index)
            if depth < openDirectories.path.count && storedName(of: openDirectories.path[depth], equals: component) {
                parent = openDirectories.path[depth]
                continue
            }
            openDirectories.path.removeSubrange(depth...)
            parent = directory(named: component, in: parent)
            openDirectories.path.append(parent)
        }
        shownViews.removeAll(keepingCapacity: true)
        for view in views where TensorViews.all[Int(view)].shows(info) { shownViews.append(view) }
        addTensorFiles(named: paths.component(components.last!), in: parent, views: shownViews, tensor: UInt32(number))
    }

    /// Adds the directory `name` in `parent` whose contents mirror model tree `tree`; returns
    /// the mirror's number.
    @discardableResult
    mutating func addMirror(of tree: Int, named name: [UInt8], in parent: UInt32) -> Int {
        let index = UInt32(nodes.count)
        name.withUnsafeBytes { addFile(named: $0, in: parent, kind: .mirrorRoot, payload: UInt32(mirrors.count)) }
        mirrors.append(Mirror(tree: tree, root: index))
        return mirrors.count - 1
    }

    private mutating func store(_ name: UnsafeRawBufferPointer) -> UInt32 {
        let start = UInt32(names.count)
        names.append(bytes: name)
        return start
    }

    /// The namespace of the trees started so far. The first time something needs a tensor's
    /// directory, `complete` finishes a copy of this builder (it returns the nodes each tree
    /// gained) and the copy is frozen in turn.
    func namespace(completing complete: @escaping @Sendable (inout NamespaceBuilder) -> [Range<UInt32>]) -> Namespace {
        let early = table()
        var trees = self.trees
        for index in trees.indices {
            let tree = trees[index]
            trees[index].rootChildren = early.children(ofNode: tree.root).filter { tree.earlyNodes.contains($0 - 1) }
            trees[index].rootSubdirectoryCount = UInt32(trees[index].rootChildren.count { nodes[Int($0 - 1)].kind.isDirectory })
        }
        let started = self
        return Namespace(early: early, trees: trees, mirrors: mirrors, partialDirectories: partialDirectories) {
            var builder = started
            let lateNodes = complete(&builder)
            return CompleteNamespace(table: builder.table(), lateNodes: lateNodes)
        }
    }

    /// Freezes the nodes: groups and sorts children, counts subdirectories, fills the table.
    func table() -> NamespaceTable {
        var directories = [DirectoryInfo](repeating: DirectoryInfo(firstChild: 0, childCount: 0, subdirectoryCount: 0), count: Int(directoryCount))
        for node in nodes.dropFirst() {
            let directory = Int(nodes[Int(node.parent)].payload)
            directories[directory].childCount += 1
            if node.kind.isDirectory { directories[directory].subdirectoryCount += 1 }
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
        // Sorting the child lists and filling the lookup table only read the nodes and share
        // nothing they write: they run at once.
        let table = children.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let childLists = buffer
            let builder = self
            let directoryList = directories
            return [true, false].parallelMap { sorting in
                if sorting { builder.sort(childLists, of: directoryList) }
                return sorting ? [] : builder.lookupTable()
            }[1]
        }
        return NamespaceTable(nodes: nodes, directories: directories, children: children, names: names, lookupTable: table)
    }

    /// Sorts each directory's list of children in `children` by name.
    private func sort(_ children: UnsafeMutableBufferPointer<UInt32>, of directories: [DirectoryInfo]) {
        names.withUnsafeBytes { allNames in
            func precedes(_ lhs: UInt32, _ rhs: UInt32) -> Bool {
                NamespaceBuilder.precedes(nodes[Int(lhs - 1)], nodes[Int(rhs - 1)], names: allNames)
            }
            for info in directories where info.childCount > 1 {
                var list = UnsafeMutableBufferPointer(rebasing: children[Int(info.firstChild)..<Int(info.firstChild + info.childCount)])
                // Most lists are a few children, mostly added in order (a tensor's views):
                // insertion sort costs little there; the library's sort sets up too much.
                if list.count > 16 {
                    list.sort(by: precedes)
                    continue
                }
                for end in 1..<list.count {
                    var position = end
                    while position > 0 && precedes(list[position], list[position - 1]) {
                        list.swapAt(position, position - 1)
                        position -= 1
                    }
                }
            }
        }
    }

    private func lookupTable() -> [UInt32] {
        var capacity = 1
        while capacity < nodes.count * 2 { capacity <<= 1 }
        var table = [UInt32](repeating: 0, count: capacity)
        let mask = capacity - 1
        names.withUnsafeBytes { allNames in
            for (index, node) in nodes.enumerated().dropFirst() {
                let name = NamespaceBuilder.name(of: node, in: allNames)
                var slot = Int(truncatingIfNeeded: NamespaceTable.hash(parent: node.parent, name: name, suffix: node.suffix)) & mask
                while table[slot] != 0 { slot = (slot + 1) & mask }
                table[slot] = UInt32(index + 1)
            }
        }
        return table
    }

    /// Orders nodes by their full names' bytes (base name, then view suffix), without
    /// building either name.
    private static func precedes(_ lhs: Node, _ rhs: Node, names: UnsafeRawBufferPointer) -> Bool {
        let left = name(of: lhs, in: names), right = name(of: rhs, in: names)
        let common = min(left.count, right.count)
        if common > 0 {
            let order = memcmp(left.baseAddress!, right.baseAddress!, common)
            if order != 0 { return order < 0 }
        }
        // One base name begins the other: compare what follows, suffixes included.
        let leftRest = FullName(base: UnsafeRawBufferPointer(rebasing: left[common...]), suffix: lhs.suffix)
        let rightRest = FullName(base: UnsafeRawBufferPointer(rebasing: right[common...]), suffix: rhs.suffix)
        var position = 0
        while let leftByte = leftRest[position] {
            guard let rightByte = rightRest[position] else { return false }
            if leftByte != rightByte { return leftByte < rightByte }
            position += 1
        }
        return rightRest[position] != nil
    }

    /// The end of a node's base name followed by its view suffix, read a byte at a time.
    private struct FullName {
        let base: UnsafeRawBufferPointer
        let suffix: UnsafeRawBufferPointer

        subscript(position: Int) -> UInt8? {
            if position < base.count { return base[position] }
            let inSuffix = position - base.count
            return inSuffix < suffix.count ? suffix[inSuffix] : nil
        }
    }
}
