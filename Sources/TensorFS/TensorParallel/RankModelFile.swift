import SafetensorsFormat

/// A rank's `model.safetensors`: a synthesized header that lists each tensor, under its own
/// name, with the shape of the rank's slice, then the slices end to end in the model's tensor
/// order. Contiguous slices are served from the sources without copying, strided ones from
/// gathered blocks.
struct RankModelFile: Sendable {
    /// The 8-byte length and the header.
    let header: GeneratedBytes
    /// Where each slice starts in the data buffer, plus the total at the end.
    let dataStarts: [UInt64]

    /// The whole file's size.
    var size: UInt64 { UInt64(header.count) + dataStarts.last! }

    /// Plans the file for a rank holding `slices` (one per tensor of `model`, in order), or
    /// says why not when the header would be longer than the format allows.
    static func plan(for model: LogicalModel, slices: [SliceGeometry]) -> Result<RankModelFile, MergedModelUnavailable> {
        var starts: [UInt64] = [0]
        starts.reserveCapacity(slices.count + 1)
        for slice in slices { starts.append(starts.last! + slice.byteCount) }
        let entries = model.tensors.indices.lazy.map { index in
            HeaderEntry(name: model.tensors[index].name, dtype: model.tensors[index].info.dtype, shape: slices[index].shape,
                        dataOffsets: ByteRange(start: starts[index], end: starts[index + 1]))
        }
        let header = MergedModel.headerText(metadata: MergedModel.mergedMetadata(of: model), entries: entries)
        guard UInt64(header.count) <= SafetensorsHeader.maximumHeaderLength else {
            return .failure(MergedModelUnavailable(headerLength: UInt64(header.count)))
        }
        return .success(RankModelFile(header: GeneratedBytes(MergedModel.lengthPrefixed(header)), dataStarts: starts))
    }
}
