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

    /// The header is written in pieces of about this size, so that measuring it costs no more
    /// memory than a piece.
    private static let pieceSize = 64 << 10

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
            var textLength: UInt64 = 0
            writeHeaderText(metadata: mergedMetadata(of: model), entries: entries(of: model, dataStarts: dataStarts)) { textLength += UInt64($0.count) }
            return paddedLength(textLength)
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

    /// Whether the model is one file, served unchanged.
    var isSingleFile: Bool { measuredHeader == nil }

    /// The length of the synthesized header (padded), or nil when the model is one file.
    var headerLength: UInt64? { measuredHeader?.value }

    /// The whole file's size.
    var size: UInt64 {
        guard let headerLength else { return singleFileSize }
        return SafetensorsHeader.prefixLength + headerLength + dataStarts.last!
    }

    /// The start of the merged file: the 8-byte header length, then the header padded with
    /// spaces so that the data buffer starts 8-byte aligned; nil when the model is one file.
    func prefix(for model: LogicalModel) -> GeneratedBytes? {
        guard let headerLength else { return nil }
        let prefixLength = Int(SafetensorsHeader.prefixLength)
        return GeneratedBytes(count: prefixLength + Int(headerLength)) { buffer in
            buffer.storeBytes(of: headerLength.littleEndian, as: UInt64.self)
            var end = prefixLength
            let metadata = MergedModel.mergedMetadata(of: model)
            MergedModel.writeHeaderText(metadata: metadata, entries: MergedModel.entries(of: model, dataStarts: dataStarts)) { piece in
                precondition(end + piece.count <= buffer.count, "the merged header outgrew its measured length")
                UnsafeMutableRawBufferPointer(rebasing: buffer[end..<end + piece.count]).copyMemory(from: piece)
                end += piece.count
            }
            precondition(buffer.count - end < 8, "the merged header fell short of its measured length")
            UnsafeMutableRawBufferPointer(rebasing: buffer[end...]).initializeMemory(as: UInt8.self, repeating: UInt8(ascii: " "))
        }
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

    /// The header length after padding `length` bytes of JSON to a multiple of 8.
    private static func paddedLength(_ length: UInt64) -> UInt64 {
        (length + 7) / 8 * 8
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

    /// A synthesized header listing `metadata` then `entries`, padded with spaces so that data
    /// starts 8-byte aligned.
    static func headerText(metadata: [MetadataEntry], entries: some Sequence<HeaderEntry>) -> [UInt8] {
        var header: [UInt8] = []
        writeHeaderText(metadata: metadata, entries: entries) { header += $0 }
        header += [UInt8](repeating: UInt8(ascii: " "), count: Int(paddedLength(UInt64(header.count))) - header.count)
        return header
    }

    /// `header` preceded by its 8-byte little-endian length: the start of a safetensors file.
    static func lengthPrefixed(_ header: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes += $0 }
        return bytes + header
    }

    /// Writes a header's JSON (unpadded) in pieces, calling `emit` with each in order:
    /// `__metadata__` first when there is any, then `entries`.
    private static func writeHeaderText(metadata: [MetadataEntry], entries: some Sequence<HeaderEntry>, _ emit: (UnsafeRawBufferPointer) -> Void) {
        var writer = JSONWriter()
        func flush(ifLongerThan threshold: Int) {
            guard writer.bytes.count > threshold else { return }
            writer.bytes.withUnsafeBytes(emit)
            writer = JSONWriter()
        }
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
            writer.raw(":{\"dtype\":\"")
            writer.raw(entry.dtype.name)
            writer.raw("\",\"shape\":[")
            for (dimension, extent) in entry.shape.enumerated() {
                if dimension > 0 { writer.raw(",") }
                writer.number(extent)
            }
            writer.raw("],\"data_offsets\":[")
            writer.number(entry.dataOffsets.start)
            writer.raw(",")
            writer.number(entry.dataOffsets.end)
            writer.raw("]}")
            flush(ifLongerThan: pieceSize)
        }
        writer.raw("}")
        flush(ifLongerThan: 0)
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
        dataStarts.dropLast().lastIndex(atOrBelow: offset)
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
    /// How long the merged header would be.
    var headerLength: UInt64
    /// The longest header allowed.
    var limit = SafetensorsHeader.maximumHeaderLength
}
