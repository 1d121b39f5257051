import ByteSources
import SafetensorsFormat

/// How models appear in the mounted tree.
public struct FileSystemOptions: Sendable, Hashable {
    /// How tensor names become paths.
    public var layout: Layout
    /// Which files appear for each tensor.
    public var views: ViewSet
    /// Whether each model gets a directory of its own name instead of filling the root.
    public var modelDirectories: Bool

    /// Creates options; by default one tree with every view.
    public init(layout: Layout = .tree, views: ViewSet = .all, modelDirectories: Bool = false) {
        self.layout = layout
        self.views = views
        self.modelDirectories = modelDirectories
    }
}

/// The filesystem's logic: what is at each inode and which bytes make up each file. It knows
/// nothing of FUSE, and nothing in it changes after it is built, so every thread may use it.
public final class TensorFileSystem: Sendable {
    /// The tree of names and inode numbers.
    public let namespace: Namespace
    /// The models mounted, each with its tensors.
    public let models: [LogicalModel]
    /// Where each model's tensors start in the filesystem's tensor numbering, plus the total.
    private let firstTensor: [Int]
    private let mergedModels: [Result<MergedModel, MergedModelUnavailable>]
    private let metadataFiles: [Lazy<GeneratedBytes>]
    private let newestTimes: [Timestamp]
    /// The newest source of all: the time of every directory.
    private let directoryTime: Timestamp
    /// The `tp-N/rank-R/` trees, when asked for.
    private let tensorParallel: TensorParallelViews?
    private let generatedSizes = GeneratedSizeCache()

    /// Builds the namespace over `models`, with the tensor-parallel views of `tensorParallel`.
    public init(models: [LogicalModel], options: FileSystemOptions = FileSystemOptions(), tensorParallel: TensorParallelPlan? = nil) {
        self.models = models
        let parallelViews = tensorParallel.map { TensorParallelViews(models: models, plan: $0) }
        self.tensorParallel = parallelViews
        var starts = [0]
        for model in models { starts.append(starts.last! + model.tensors.count) }
        firstTensor = starts
        let merged = models.map { MergedModel.plan(for: $0) }
        mergedModels = merged
        metadataFiles = zip(models, merged).map { model, plan in
            Lazy { GeneratedBytes(MetadataFile.bytes(for: model, merged: plan)) }
        }
        newestTimes = models.map { model in
            model.shards.map(\.source.modificationTime).max() ?? .zero
        }
        directoryTime = newestTimes.max() ?? .zero
        var builder = NamespaceBuilder()
        for (number, model) in models.enumerated() {
            let root = options.modelDirectories
                ? builder.directory(named: NameEscaping.escape(Array(model.name.utf8)), in: NamespaceBuilder.root)
                : NamespaceBuilder.root
            var generated: [NodeKind] = [.metadata]
            if case .success = merged[number] { generated.append(.mergedModel) }
            // Every rank's tree has the model's paths: they are planned once.
            let paths = NamespaceBuilder.planPaths(of: model, layout: options.layout)
            defer { paths.forEach { $0.deallocate() } }
            builder.addModel(model, paths: paths, number: UInt32(number), firstTensor: starts[number], at: root,
                             views: options.views, generatedFiles: generated)
            parallelViews?.addTrees(ofModel: number, paths: paths, at: root, to: &builder, views: options.views)
        }
        namespace = builder.build()
    }

    /// The model and tensor that filesystem tensor number `number` stands for.
    public func tensor(_ number: Int) -> (model: LogicalModel, tensor: ModelTensor) {
        let model = firstTensor.dropLast().lastIndex(atOrBelow: number)
        return (models[model], models[model].tensors[number - firstTensor[model]])
    }

    // MARK: Attributes

    /// What `stat` reports for `inode`, or nil if there is no such inode.
    public func attributes(of inode: InodeNumber) -> FileAttributes? {
        guard let (kind, payload) = namespace.entry(inode) else { return nil }
        if kind == .directory {
            return FileAttributes(
                inode: inode, isDirectory: true, size: 4096,
                linkCount: UInt32(2 + namespace.subdirectoryCount(of: inode)), permissions: 0o555,
                modificationTime: directoryTime)
        }
        return FileAttributes(
            inode: inode, isDirectory: false, size: size(kind: kind, payload: payload), linkCount: 1, permissions: 0o444,
            modificationTime: modificationTime(kind: kind, payload: payload))
    }

    private func size(kind: NodeKind, payload: Int) -> UInt64 {
        switch kind {
        case .mergedModel:
            if case .success(let merged) = mergedModels[payload] { return merged.size }
        case .sidecar, .npy, .sliceSidecar, .sliceNpy:
            let described = kind == .sidecar || kind == .npy ? tensor(payload).tensor : tensorParallel!.tensor(ofSlice: payload).tensor
            return generatedSizes.size(kind: kind, payload: payload, rank: described.info.shape.count) {
                fileLayout(kind: kind, payload: payload, generated: nil).size
            }
        default:
            break
        }
        return fileLayout(kind: kind, payload: payload, generated: nil).size
    }

    private func modificationTime(kind: NodeKind, payload: Int) -> Timestamp {
        switch kind {
        case .tensor, .sidecar, .npy:
            let (model, tensor) = self.tensor(payload)
            return model.shards[tensor.shard].source.modificationTime
        case .slice, .sliceSidecar, .sliceNpy:
            let (model, tensor) = tensorParallel!.tensor(ofSlice: payload)
            return model.shards[tensor.shard].source.modificationTime
        case .rankMetadata, .rankModel:
            return newestTimes[tensorParallel!.modelNumber(ofView: payload)]
        case .directory, .metadata, .mergedModel:
            return newestTimes[payload]
        }
    }

    /// The sum of all tensors' sizes, for `statfs`.
    public var totalTensorBytes: UInt64 {
        models.reduce(0) { $0 &+ $1.totalTensorBytes }
    }

    // MARK: Contents

    /// Prepares `inode` for reading: returns the bytes tensorfs generates for it, to be passed
    /// back to `withContents`, or nil when the file is served from sources alone.
    public func open(_ inode: InodeNumber) -> GeneratedBytes? {
        guard let (kind, payload) = namespace.entry(inode) else { return nil }
        return generatedPrefix(kind: kind, payload: payload)
    }

    /// Calls `body` with memory pieces holding `count` bytes of `inode` from `offset` (fewer at
    /// the end of the file). `generated` is what `open` returned.
    public func withContents<Result>(
        of inode: InodeNumber,
        generated: GeneratedBytes?,
        offset: UInt64,
        count: Int,
        _ body: (UnsafeBufferPointer<UnsafeRawBufferPointer>) -> Result
    ) throws(ByteSourceError) -> Result {
        guard let (kind, payload) = namespace.entry(inode), kind != .directory else {
            return body(UnsafeBufferPointer(start: nil, count: 0))
        }
        let layout = fileLayout(kind: kind, payload: payload, generated: generated)
        let (end, overflow) = offset.addingReportingOverflow(UInt64(count))
        return try layout.withPieces(of: ByteRange(start: offset, end: overflow ? .max : end), body)
    }

    private func generatedPrefix(kind: NodeKind, payload: Int) -> GeneratedBytes? {
        switch kind {
        case .directory, .tensor:
            return nil
        case .sidecar:
            let (model, tensor) = self.tensor(payload)
            return GeneratedBytes(Sidecar.bytes(for: tensor, in: model))
        case .npy:
            return GeneratedBytes(NpyHeader.bytes(for: self.tensor(payload).tensor.info))
        case .metadata:
            return metadataFiles[payload].value
        case .mergedModel:
            // Made for each opening rather than kept: for large models it is megabytes.
            guard case .success(let merged) = mergedModels[payload] else { return nil }
            return merged.prefix(for: models[payload])
        case .slice, .sliceSidecar, .sliceNpy, .rankMetadata, .rankModel:
            return tensorParallel!.generatedPrefix(kind: kind, payload: payload)
        }
    }

    private func fileLayout(kind: NodeKind, payload: Int, generated: GeneratedBytes?) -> FileLayout {
        switch kind {
        case .directory:
            return FileLayout(prefix: nil, body: .none)
        case .tensor, .npy:
            let (model, tensor) = self.tensor(payload)
            let source = FileLayout.Body.source(model.shards[tensor.shard].source, tensor.fileRange)
            return FileLayout(prefix: kind == .npy ? generated ?? generatedPrefix(kind: kind, payload: payload) : nil, body: source)
        case .sidecar, .metadata:
            return FileLayout(prefix: generated ?? generatedPrefix(kind: kind, payload: payload), body: .none)
        case .mergedModel:
            let model = models[payload]
            guard case .success(let merged) = mergedModels[payload] else { return FileLayout(prefix: nil, body: .none) }
            if merged.isSingleFile {
                let source = model.shards[0].source
                return FileLayout(prefix: nil, body: .source(source, ByteRange(start: 0, end: source.size)))
            }
            return FileLayout(prefix: generated ?? merged.prefix(for: model), body: .shards(model, merged))
        case .slice, .sliceSidecar, .sliceNpy, .rankMetadata, .rankModel:
            return tensorParallel!.fileLayout(kind: kind, payload: payload, generated: generated)
        }
    }

    // MARK: Extended attributes

    /// The `user.tensorfs.*` attributes of a tensor's files; empty for other nodes.
    public func extendedAttributes(of inode: InodeNumber) -> [ExtendedAttribute] {
        guard let (kind, payload) = namespace.entry(inode) else { return [] }
        switch kind {
        case .tensor, .sidecar, .npy:
            let (model, tensor) = self.tensor(payload)
            return ExtendedAttribute.describing(tensor, in: model, shape: tensor.info.shape)
        case .slice, .sliceSidecar, .sliceNpy:
            return tensorParallel!.extendedAttributes(ofSlice: payload)
        case .directory, .metadata, .mergedModel, .rankMetadata, .rankModel:
            return []
        }
    }
}
