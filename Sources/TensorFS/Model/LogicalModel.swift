import ByteSources
import SafetensorsFormat
import Synchronization

/// One file that holds tensors of a model.
public struct Shard: Sendable {
    /// Where the file's bytes come from.
    public var source: any ByteSource
    /// The file's name relative to the model (the `file` field of sidecars).
    public var relativeName: String
    /// The file's `__metadata__`, or nil when it has none.
    public var metadata: [MetadataEntry]?
    /// Where the data buffer begins in the file.
    public var dataStart: UInt64
    /// How many tensors the file holds.
    public var tensorCount: Int

    /// Describes a file holding tensors.
    public init(source: any ByteSource, relativeName: String, metadata: [MetadataEntry]?, dataStart: UInt64, tensorCount: Int) {
        self.source = source
        self.relativeName = relativeName
        self.metadata = metadata
        self.dataStart = dataStart
        self.tensorCount = tensorCount
    }
}

/// One tensor of a logical model, with the shard that holds its bytes.
public struct ModelTensor: Sendable {
    /// The tensor as its shard's header describes it.
    public var info: TensorInfo
    /// The index of the shard holding it, in `LogicalModel.shards`.
    public var shard: Int
    /// The absolute byte range of its data in the shard file.
    public var fileRange: ByteRange

    /// Places a tensor in a shard.
    public init(info: TensorInfo, shard: Int, fileRange: ByteRange) {
        self.info = info
        self.shard = shard
        self.fileRange = fileRange
    }

    /// The tensor's name.
    public var name: String { info.name }
}

extension Sequence<ModelTensor> {
    /// How many of the tensors have each dtype, most frequent first (ties in dtype name order).
    func dtypeHistogram() -> [(dtype: DType, count: Int)] {
        var counts: [DType: Int] = [:]
        for tensor in self { counts[tensor.info.dtype, default: 0] += 1 }
        return counts.sorted { ($1.value, $0.key.name) < ($0.value, $1.key.name) }.map { ($0.key, $0.value) }
    }
}

/// A file that travels with the weights (`config.json`, a tokenizer, `1_Pooling/config.json`):
/// shown unchanged at its path in the model's directory.
public struct CompanionFile: Sendable {
    /// Its path in the model's directory, components joined with `/`.
    public var relativePath: String
    /// Where its bytes come from.
    public var source: any ByteSource

    /// Describes a companion file.
    public init(relativePath: String, source: any ByteSource) {
        self.relativePath = relativePath
        self.source = source
    }
}

/// A model as users see it: tensors merged from all its shards, the shard boundaries hidden.
public final class LogicalModel: Sendable {
    /// A name for the model, used when several models share a mount (the file or folder name).
    public let name: String
    /// The files holding the tensors.
    public let shards: [Shard]
    /// All tensors, in shard order and, within a shard, in data order.
    public let tensors: [ModelTensor]
    /// The shard indexes the model came from, if any.
    public let indexes: [IndexSummary]
    /// The files that travel with the weights, sorted by path.
    public let companions: [CompanionFile]
    /// Things that are odd but not fatal, each one line naming the file.
    public let warnings: [String]
    /// Every tensor's name, when loading made such a table anyway (the index's, say), kept
    /// until the namespace takes it: a table of 100k names costs time to make and megabytes
    /// to keep.
    private let handedOverNames: Mutex<NameTable?>

    /// Creates a model from parts already checked for consistency; `tensorNames`, if given,
    /// holds the name of every tensor and no other.
    public init(
        name: String, shards: [Shard], tensors: [ModelTensor],
        indexes: [IndexSummary] = [], companions: [CompanionFile] = [], warnings: [String] = [], tensorNames: NameTable? = nil
    ) {
        self.name = name
        self.shards = shards
        self.tensors = tensors
        self.indexes = indexes
        self.companions = companions
        self.warnings = warnings
        handedOverNames = Mutex(tensorNames)
    }

    /// The table of every tensor's name made while loading, if any; later calls get nil.
    func takeTensorNames() -> NameTable? {
        handedOverNames.withLock { names in
            defer { names = nil }
            return names
        }
    }

    /// The sum of all tensors' byte counts.
    public var totalTensorBytes: UInt64 {
        tensors.reduce(0) { $0 &+ $1.info.byteCount }
    }
}

/// What a model keeps of a shard index once its placements are checked.
public struct IndexSummary: Sendable {
    /// The index file as the user named it.
    public var file: String
    /// Its `metadata` as JSON text, if any.
    public var metadataJSON: String?
    /// The string-valued members of its `metadata`.
    public var metadataStrings: [MetadataEntry]
}
