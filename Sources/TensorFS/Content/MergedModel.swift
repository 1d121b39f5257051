import SafetensorsFormat

/// The whole logical model as one valid safetensors file: a synthesized header, then each
/// shard's data buffer in turn, served from the shards without copying. Because the tensors of
/// a shard tile its data buffer exactly, the merged buffer is the shards' buffers end to end.
///
/// A model of one shard is served as that file, unchanged.
struct MergedModel: Sendable {
    /// Where each shard's data buffer starts in the merged data buffer, plus the total at the end.
    let dataStarts: [UInt64]
    /// The length of the synthesized header (padded), or nil when the model is one file.
    let headerLength: UInt64?
    /// The whole file's size.
    let size: UInt64

    /// Plans the merged file, or returns nil with the reason when the merged header would be
    /// longer than the format allows.
    static func plan(for model: LogicalModel) -> Result<MergedModel, MergedModelUnavailable> {
        var starts: [UInt64] = [0]
        for shard in model.shards {
            starts.append(starts.last! + (shard.source.size - shard.dataStart))
        }
        if model.shards.count == 1 {
            return .success(MergedModel(dataStarts: starts, headerLength: nil, size: model.shards[0].source.size))
        }
        let length = UInt64(headerText(for: model, dataStarts: starts).count)
        guard length <= SafetensorsHeader.maximumHeaderLength else {
            return .failure(MergedModelUnavailable(headerLength: length))
        }
        return .success(MergedModel(dataStarts: starts, headerLength: length, size: SafetensorsHeader.prefixLength + length + starts.last!))
    }

    /// The header, padded with spaces so that data starts 8-byte aligned.
    static func headerText(for model: LogicalModel, dataStarts: [UInt64]) -> [UInt8] {
        headerText(metadata: mergedMetadata(of: model), entries: model.tensors.lazy.map { tensor in
            let base = dataStarts[tensor.shard]
            return HeaderEntry(
                name: tensor.name, dtype: tensor.info.dtype, shape: tensor.info.shape,
                dataOffsets: ByteRange(start: base + tensor.info.dataOffsets.start, end: base + tensor.info.dataOffsets.end))
        })
    }

    /// A synthesized header listing `metadata` then `entries`, padded with spaces so that data
    /// starts 8-byte aligned.
    static func headerText(metadata: [MetadataEntry], entries: some Sequence<HeaderEntry>) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{")
        if !metadata.isEmpty {
            writer.string("__metadata__")
            writer.raw(":{")
            for (position, entry) in metadata.enumerated() {
                if position > 0 { writer.raw(",") }
                writer.string(entry.key)
                writer.raw(":")
                writer.string(entry.value)
            }
            writer.raw("}")
        }
        var first = metadata.isEmpty
        for entry in entries {
            if !first { writer.raw(",") }
            first = false
            writer.string(entry.name)
            writer.raw(":{\"dtype\":")
            writer.string(entry.dtype.name)
            writer.raw(",\"shape\":")
            writer.raw("[" + entry.shape.map(String.init).joined(separator: ",") + "]")
            writer.raw(",\"data_offsets\":[\(entry.dataOffsets.start),\(entry.dataOffsets.end)]}")
        }
        writer.raw("}")
        var header = writer.bytes
        let padding = (8 - header.count % 8) % 8
        header += [UInt8](repeating: UInt8(ascii: " "), count: padding)
        return header
    }

    /// `header` preceded by its 8-byte little-endian length: the start of a safetensors file.
    static func lengthPrefixed(_ header: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes += $0 }
        return bytes + header
    }

    /// The `__metadata__` of the merged file: the string pairs of every shard, then the index's
    /// string-valued metadata; the first value of a key wins.
    static func mergedMetadata(of model: LogicalModel) -> [MetadataEntry] {
        var entries: [MetadataEntry] = []
        var seen = Set<Utf8Key>()
        for shard in model.shards {
            for entry in shard.metadata ?? [] where seen.insert(Utf8Key(entry.key)).inserted {
                entries.append(entry)
            }
        }
        for index in model.indexes {
            for entry in index.metadataStrings where seen.insert(Utf8Key(entry.key)).inserted {
                entries.append(entry)
            }
        }
        return entries
    }

    /// Which shard holds merged data byte `offset` (relative to the merged data buffer).
    func shard(containing offset: UInt64) -> Int {
        var low = 0
        var high = dataStarts.count - 2
        while low < high {
            let middle = (low + high + 1) / 2
            if dataStarts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        return low
    }
}

/// One tensor as a synthesized header lists it.
struct HeaderEntry {
    var name: String
    var dtype: DType
    var shape: [UInt64]
    var dataOffsets: ByteRange
}

/// Why a model has no `model.safetensors`.
struct MergedModelUnavailable: Error {
    var headerLength: UInt64
}
