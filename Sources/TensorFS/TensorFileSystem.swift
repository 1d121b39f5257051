import ByteSources
import SafetensorsFormat

/// How models appear in the mounted tree.
public struct FileSystemOptions: Sendable, Hashable {
    /// How tensor names become paths.
    public var layout: Layout
    /// Which files appear for each tensor.
    public var views: ViewSelection
    /// Whether each model gets a directory of its own name instead of filling the root.
    public var modelDirectories: Bool

    /// Creates options; by default one tree with the default views.
    public init(layout: Layout = .tree, views: ViewSelection = .defaults, modelDirectories: Bool = false) {
        self.layout = layout
        self.views = views
        self.modelDirectories = modelDirectories
    }
}

/// The filesystem's logic: what is at each inode and which bytes make up each file. It knows
/// nothing of FUSE, and nothing in it changes after it is built but the files open, so every
/// thread may use it.
///
/// Each inode is a directory or a file of one family, and each family is served in one place:
/// `TensorFiles` (every view of every tensor, whole or a rank's slice), `ModelFiles` (the
/// files at a model's or a rank's root) and `CompanionFiles` (the files that travel with the
/// weights).
public final class TensorFileSystem: Sendable {
    /// The models mounted, each with its tensors.
    public let models: [LogicalModel]
    /// The tree of names and inode numbers.
    let namespace: Namespace
    let tensorFiles: TensorFiles
    let modelFiles: ModelFiles
    let companionFiles: CompanionFiles
    /// The newest source of all: the time of every directory.
    private let directoryTime: Timestamp
    private let generatedSizes = GeneratedSizeCache()
    private let openFiles = OpenFiles()

    /// Builds the namespace over `models`, with the tensor-parallel views of `tensorParallel`.
    /// Fails when a view cannot serve the models as they are (a scale that does not fit its
    /// weight, for the f32 view).
    public init(models: [LogicalModel], options: FileSystemOptions = FileSystemOptions(), tensorParallel: TensorParallelPlan? = nil) throws(ModelError) {
        self.models = models
        let merged = models.map { MergedModel.plan(for: $0) }
        let parallelViews = tensorParallel.map { TensorParallelViews(models: models, plan: $0, mergedModels: merged) }
        tensorFiles = try TensorFiles(models: models, tensorParallel: parallelViews, views: options.views)
        modelFiles = ModelFiles(models: models, merged: merged, tensorParallel: parallelViews)
        companionFiles = CompanionFiles(models: models)
        directoryTime = modelFiles.newestTimes.max() ?? .zero
        // At mount, each model's tree holds what its root holds; the rest is made when first
        // needed, from the tensors whose paths were only started.
        var builder = NamespaceBuilder()
        var started: [(tree: Int, planner: TensorPathPlanner, tensors: [Int])] = []
        for (number, model) in models.enumerated() {
            let root = options.modelDirectories
                ? builder.directory(named: NameEscaping.escape(Array(model.name.utf8)), in: NamespaceBuilder.root)
                : NamespaceBuilder.root
            let planner = TensorPathPlanner(for: model, layout: options.layout)
            let entries = NamespaceBuilder.planPaths(of: Array(model.tensors.indices), in: model, planner: planner, rootEntriesOnly: true)
            defer { entries.forEach { $0.paths.deallocate() } }
            let tree = builder.startModelTree(model, entries: entries, number: UInt32(number), firstTensor: tensorFiles.firstTensor[number],
                                              firstCompanion: companionFiles.firstCompanion[number], at: root,
                                              views: options.views.views, modelFiles: modelFiles.kinds(ofModel: number))
            let unfinished = zip(model.tensors.indices, entries.flatMap(\.whole)).filter { !$0.1 }.map(\.0)
            started.append((tree, planner, unfinished))
            parallelViews?.addTrees(ofModel: number, tree: tree, at: root, to: &builder)
        }
        let views = options.views.views
        let firstTensors = tensorFiles.firstTensor
        let unfinished = started
        namespace = builder.namespace { builder in
            unfinished.enumerated().map { number, tree in
                let paths = NamespaceBuilder.planPaths(of: tree.tensors, in: models[number], planner: tree.planner, rootEntriesOnly: false)
                defer { paths.forEach { $0.paths.deallocate() } }
                return builder.completeModelTree(tree.tree, of: models[number], paths: paths, tensors: tree.tensors,
                                                 firstTensor: firstTensors[number], views: views)
            }
        }
    }

    /// A node as the filesystem serves it.
    private enum Node {
        case directory
        /// View `view` (an index into `TensorViews.all`) of a tensor.
        case tensorFile(view: Int, PresentedTensor)
        /// A model's (or, in a mirror, a rank's) root file.
        case modelFile(ModelFileKind, model: Int, mirror: Int?)
        /// A file that travels with the weights.
        case companionFile(Int)
    }

    /// What `inode` is, if it exists.
    private func node(_ inode: InodeNumber) -> Node? {
        guard let reference = namespace.reference(inode) else { return nil }
        let stored = namespace.node(reference)
        switch stored.kind {
        case .directory, .mirrorRoot:
            return .directory
        case .tensorFile:
            return .tensorFile(view: Int(stored.variant), tensorFiles.presented(Int(stored.payload), mirror: reference.mirror))
        case .modelFile:
            return .modelFile(ModelFileKind(rawValue: stored.variant)!, model: Int(stored.payload), mirror: reference.mirror)
        case .companionFile:
            return .companionFile(Int(stored.payload))
        }
    }

    // MARK: Names

    /// The child of directory `parent` called `name`.
    public func lookup(_ name: UnsafeRawBufferPointer, in parent: InodeNumber) -> InodeNumber? {
        namespace.lookup(name, in: parent)
    }

    /// Follows `path` (components separated by `/`) from the root.
    public func resolve(_ path: String) -> InodeNumber? {
        namespace.resolve(path)
    }

    /// The directory holding `inode` (the root is its own parent).
    public func parent(of inode: InodeNumber) -> InodeNumber? {
        namespace.parent(of: inode)
    }

    /// How many inodes there are.
    public var inodeCount: UInt64 { namespace.count }

    /// One entry of a directory listing.
    public struct DirectoryEntry {
        /// The entry's name.
        public var name: [UInt8]
        /// What it is.
        public var attributes: FileAttributes
        /// Where a listing that stops after this entry resumes.
        public var nextPosition: Int
    }

    /// Calls `visit` with the entries of directory `inode` from `position` on (position 0 is
    /// `.`, 1 is `..`, then the children sorted by name) until it returns false; false when
    /// `inode` is not a directory.
    public func listDirectory(_ inode: InodeNumber, from position: Int, _ visit: (DirectoryEntry) -> Bool) -> Bool {
        guard let attributes = attributes(of: inode), attributes.isDirectory else { return false }
        let children = namespace.children(of: inode)
        var position = max(position, 0)
        while position < children.count + 2 {
            let entry: InodeNumber
            let name: [UInt8]
            switch position {
            case 0: (entry, name) = (inode, Array(".".utf8))
            case 1: (entry, name) = (namespace.parent(of: inode) ?? inode, Array("..".utf8))
            default:
                entry = children[position - 2]
                name = namespace.name(of: entry)
            }
            guard let entryAttributes = self.attributes(of: entry),
                  visit(DirectoryEntry(name: name, attributes: entryAttributes, nextPosition: position + 1)) else { break }
            position += 1
        }
        return true
    }

    // MARK: Attributes

    /// What `stat` reports for `inode`, or nil if there is no such inode.
    public func attributes(of inode: InodeNumber) -> FileAttributes? {
        guard let node = node(inode) else { return nil }
        switch node {
        case .directory:
            return FileAttributes(
                inode: inode, isDirectory: true, size: 4096,
                linkCount: UInt32(2 + namespace.subdirectoryCount(of: inode)), permissions: 0o555,
                modificationTime: directoryTime)
        case .tensorFile(let view, let tensor):
            // Making a file to measure it costs microseconds, unless its shape is hostile.
            let size = generatedSizes.size(of: inode, rank: tensor.shape.count) {
                tensorFiles.contents(view: view, of: tensor, generated: tensorFiles.generatedBytes(view: view, for: tensor)).size
            }
            return file(inode, size: size, modified: tensorFiles.modificationTime(of: tensor))
        case .modelFile(let kind, let model, let mirror):
            return file(inode, size: modelFiles.size(kind, model: model, mirror: mirror), modified: modelFiles.newestTimes[model])
        case .companionFile(let number):
            let source = companionFiles.file(number).source
            return file(inode, size: source.size, modified: source.modificationTime)
        }
    }

    private func file(_ inode: InodeNumber, size: UInt64, modified: Timestamp) -> FileAttributes {
        FileAttributes(inode: inode, isDirectory: false, size: size, linkCount: 1, permissions: 0o444, modificationTime: modified)
    }

    /// The sum of all tensors' sizes, for `statfs`.
    public var totalTensorBytes: UInt64 {
        models.reduce(0) { $0 &+ $1.totalTensorBytes }
    }

    // MARK: Contents

    /// Opens `inode` for reading; nil when it is not a file. Bytes tensorfs generates for the
    /// file (a sidecar, a header) are made at the first opening of the inode and shared by
    /// every opening until the last is released.
    public func open(_ inode: InodeNumber) -> OpenFile? {
        guard let node = node(inode) else { return nil }
        switch node {
        case .directory:
            return nil
        case .tensorFile(let view, let tensor):
            return openFiles.open(inode) { [tensorFiles] in tensorFiles.generatedBytes(view: view, for: tensor) }
        case .modelFile(let kind, let model, let mirror):
            return openFiles.open(inode) { [modelFiles] in modelFiles.generatedBytes(kind, model: model, mirror: mirror) }
        case .companionFile:
            return OpenFile(inode: inode, generated: nil)
        }
    }

    /// Ends an opening from `open`.
    public func release(_ file: OpenFile) {
        openFiles.release(file)
    }

    /// How many files hold generated bytes from an opening now.
    var openFileCount: Int { openFiles.count }

    /// Calls `body` with memory pieces holding `count` bytes of `inode` from `offset` (fewer at
    /// the end of the file). `opened` is what `open` returned for the inode; without it, the
    /// file's generated bytes are made for this read alone.
    public func withContents<Result>(
        of inode: InodeNumber,
        opened: OpenFile?,
        offset: UInt64,
        count: Int,
        _ body: (UnsafeBufferPointer<UnsafeRawBufferPointer>) -> Result
    ) throws(ByteSourceError) -> Result {
        let contents: FileContents
        switch node(inode) {
        case .directory, nil:
            return body(UnsafeBufferPointer(start: nil, count: 0))
        case .tensorFile(let view, let tensor):
            let generated = opened.map(\.generated) ?? tensorFiles.generatedBytes(view: view, for: tensor)
            contents = tensorFiles.contents(view: view, of: tensor, generated: generated)
        case .modelFile(let kind, let model, let mirror):
            let generated = opened.map(\.generated) ?? modelFiles.generatedBytes(kind, model: model, mirror: mirror)
            contents = modelFiles.contents(kind, model: model, mirror: mirror, generated: generated)
        case .companionFile(let number):
            contents = companionFiles.contents(of: number)
        }
        let (end, overflow) = offset.addingReportingOverflow(UInt64(count))
        return try contents.withPieces(of: ByteRange(start: offset, end: overflow ? .max : end), body)
    }

    /// The local file whose bytes `inode` shows, whole and unchanged (a model of one file's
    /// `model.safetensors`, a companion file), if it is one: the kernel may read such a file
    /// itself (FUSE passthrough). Nil for every other file, and for remote sources.
    public func wholeLocalFile(of inode: InodeNumber) -> MappedFile? {
        let contents: FileContents
        switch node(inode) {
        case .modelFile(.safetensors, let model, nil):
            contents = modelFiles.contents(.safetensors, model: model, mirror: nil, generated: nil)
        case .companionFile(let number):
            contents = companionFiles.contents(of: number)
        default:
            return nil
        }
        guard contents.prefix == nil, case .source(let source as MappedFile, let range, _) = contents.body,
              range == ByteRange(start: 0, end: source.size) else { return nil }
        return source
    }

    // MARK: Extended attributes

    /// The `user.tensorfs.*` attributes of a tensor's files; empty for other nodes.
    public func extendedAttributes(of inode: InodeNumber) -> [ExtendedAttribute] {
        guard case .tensorFile(_, let tensor)? = node(inode) else { return [] }
        return tensorFiles.extendedAttributes(of: tensor)
    }
}
