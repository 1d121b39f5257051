import ByteSources
import SafetensorsFormat

/// A model's `config.json`, where the f32 view finds the block size of block-scaled weights.
///
/// Until models carry their companion files (issue 14), it is read from beside the weights of
/// local models only: the directory that the first local shard's name is relative to.
enum ModelConfigFile {
    static let name = "config.json"
    /// Configs are small; anything larger than this is refused rather than read.
    static let maximumSize: UInt64 = 16 << 20

    /// What `model`'s `config.json` says of quantization: nil when the model has none, the
    /// error when it cannot be read or parsed.
    static func quantizationConfig(of model: LogicalModel) -> Result<QuantizationConfig?, ModelError> {
        Result { () throws(ModelError) -> QuantizationConfig? in
            guard let source = try source(of: model) else { return nil }
            guard source.size <= maximumSize else {
                throw .unusableSource(source.displayName, reason: "config of \(source.size) bytes is larger than the \(maximumSize)-byte limit")
            }
            let bytes = try ModelError.reading { () throws(ByteSourceError) in try source.copyBytes(in: ByteRange(start: 0, end: source.size)) }
            return try ModelError.parsing { () throws(SafetensorsError) in
                try bytes.withUnsafeBufferPointer { (json) throws(SafetensorsError) -> QuantizationConfig in
                    try QuantizationConfig(json: UnsafeRawBufferPointer(json), file: source.displayName)
                }
            }
        }
    }

    /// The model's `config.json`, opened, or nil when there is none. Stopgap until issue 14:
    /// replace with the model's companion file named `config.json`.
    private static func source(of model: LogicalModel) throws(ModelError) -> (any ByteSource)? {
        guard let shard = model.shards.first(where: { $0.source is MappedFile }) else { return nil }
        let path = Array(shard.source.displayName.utf8)
        let relative = Array(shard.relativeName.utf8)
        guard path.count >= relative.count, path.suffix(relative.count).elementsEqual(relative) else { return nil }
        let location = String(decoding: path.dropLast(relative.count), as: UTF8.self) + name
        guard case .file = try? LocalPath.kind(of: location) else { return nil }
        return try LocalFiles().open(location, displayName: location)
    }
}
