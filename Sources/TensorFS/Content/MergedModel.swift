import ByteSources
import SafetensorsFormat

/// The whole logical model as one valid safetensors file: a synthesized header, then each
/// shard's data buffer in turn, served from the shards without copying. Because the tensors of
/// a shard tile its data buffer exactly, the merged buffer is the shards' buffers end to end.
///
/// A model of one shard is served as that file, unchanged.
struct MergedModel: Sendable {
    /// Where each shard's data buffer starts in the merged data buffer, plus the total at the end.
    let dataStarts: [UInt64]
    /// The length of the synthesized header (padded), measured when first needed; nil when
    /// the model is one file.
    private let measuredHeader: Lazy<UInt64>?
    /// The size of the model's only file, when it is one file.
    private let singleFileSize: UInt64

    /// Plans the merged file, or returns why there is none: the merged header would be longer
    /// than `headerLimit` (the format's limit). The header is measured now only if a quick upper
    /// bound of its length is over the limit; otherwise on first use.
    static func plan(
        for model: LogicalModel, headerLimit: UInt64 = SafetensorsHeader.maximumHeaderLength
    ) -> Result<MergedModel, MergedModelUnavailable> {
        var starts: [UInt64] = [0]
        starts.reserveCapacity(model.shards.count + 1)
        for shard in model.shards {
            starts.append(starts.last! + (shard.source.size - shard.dataStart))
        }
        if model.shards.count == 1 {
            return .success(MergedModel(dataStarts: starts, measuredHeader: nil, singleFileSize: model.shards[0].source.size))
        }
        let dataStarts = starts
        let measure: @Sendable () -> UInt64 = {
            SynthesizedHeader.length(metadata: mergedMetadata(of: model), entries: entries(of: model, dataStarts: dataStarts))
        }
        if maximumHeaderLength(of: model) > headerLimit {
            let length = measure()
            guard length <= headerLimit else {
                return .failure(MergedModelUnavailable(headerLength: length, limit: headerLimit))
            }
            return .success(MergedModel(dataStarts: starts, measuredHeader: Lazy { length }, singleFileSize: 0))
        }
        return .success(MergedModel(dataStarts: starts, measuredHeader: Lazy(measure), singleFileSize: 0))
    }

    /// The length of the synthesized header (padded), or nil when the model is one file.
    var headerLength: UInt64? { measuredHeader?.value }

    /// The whole file's size.
    var size: UInt64 {
        guard let headerLength else { return singleFileSize }
        return SafetensorsHeader.prefixLength + headerLength + dataStarts.last!
    }

    /// The start of the merged file: the 8-byte header length, then the header padded with
    /// spaces so that the data buffer starts 8-byte aligned; nil when the model is one file.
    /// Made for each opening rather than kept: for large models it is megabytes.
    func header(for model: LogicalModel) -> GeneratedBytes? {
        guard let headerLength else { return nil }
        return SynthesizedHeader.fileStart(length: headerLength, metadata: MergedModel.mergedMetadata(of: model),
                                           entries: MergedModel.entries(of: model, dataStarts: dataStarts))
    }

    /// The file's contents after `header` (what `header(for:)` returned): the shards' data
    /// buffers end to end, or the one file itself.
    func contents(of model: LogicalModel, header: GeneratedBytes?) -> FileContents {
        guard measuredHeader != nil else {
            let source = model.shards[0].source
            return FileContents(prefix: nil, body: .source(source, ByteRange(start: 0, end: source.size)))
        }
        let shards = model.shards
        let starts = dataStarts
        let data = ConsecutiveParts(starts: starts) { index, range, visit in
            let shard = shards[index]
            visit(.source(SourceSegment(
                source: shard.source, range: ByteRange(start: shard.dataStart + range.start, end: shard.dataStart + range.end),
                extent: ByteRange(start: shard.dataStart, end: shard.source.size))))
        }
        return FileContents(prefix: header, body: .segments(data))
    }

    /// An upper bound of the padded header's length, quick to compute: every byte of a string
    /// written as a six-byte escape, every number as twenty digits.
    private static func maximumHeaderLength(of model: LogicalModel) -> UInt64 {
        // `{"__metadata__":{}}`, an entry's punctuation, field names and dtype, and padding.
        let (frame, perTensor, perString, perNumber): (UInt64, UInt64, UInt64, UInt64) = (32, 64, 2, 21)
        var bound = frame
        for entry in mergedMetadata(of: model) {
            bound += 6 * UInt64(entry.key.utf8.count + entry.value.utf8.count) + 2 * perString + 2
        }
        for tensor in model.tensors {
            bound += perTensor + 6 * UInt64(tensor.name.utf8.count) + perString + perNumber * UInt64(tensor.info.shape.count + 2)
        }
        return bound
    }

    /// The merged file's entries: every tensor, its offsets moved to the merged data buffer.
    private static func entries(of model: LogicalModel, dataStarts: [UInt64]) -> some Sequence<HeaderEntry> {
        model.tensors.lazy.map { tensor in
            let base = dataStarts[tensor.shard]
            return HeaderEntry(
                name: tensor.name, dtype: tensor.info.dtype, shape: tensor.info.shape,
                dataOffsets: ByteRange(start: base + tensor.info.dataOffsets.start, end: base + tensor.info.dataOffsets.end))
        }
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
}

/// Why a model has no `model.safetensors`.
struct MergedModelUnavailable: Error {
    /// How long the merged header would be.
    var headerLength: UInt64
    /// The longest header allowed.
    var limit = SafetensorsHeader.maximumHeaderLength
}
