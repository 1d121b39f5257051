import ByteSources
import SafetensorsFormat

/// A model's `config.json`, where the f32 view finds the block size of block-scaled weights: the
/// companion file at the model directory's root (a directory SOURCE brings it along).
enum ModelConfigFile {
    static let path = "config.json"
    /// Configs are small; anything larger than this is refused rather than read.
    static let maximumSize: UInt64 = 16 << 20

    /// What `model`'s `config.json` says of quantization: nil when the model has none, the
    /// error when it cannot be read or parsed.
    static func quantizationConfig(of model: LogicalModel) -> Result<QuantizationConfig?, ModelError> {
        Result { () throws(ModelError) -> QuantizationConfig? in
            guard let source = model.companions.first(where: { $0.relativePath == path })?.source else { return nil }
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
}
