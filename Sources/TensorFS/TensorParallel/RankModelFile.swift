import SafetensorsFormat

/// A rank's `model.safetensors`: a synthesized header that lists each tensor, under its own
/// name, with the shape of the rank's slice, then the slices end to end in the model's tensor
/// order. Contiguous slices are served from the sources without copying, strided ones from
/// gathered blocks. The plan (where slices start, the header's length) is made when the file is
/// first looked at; the header itself is written when the file is opened.
struct RankModelFile: Sendable {
    /// Where each slice starts in the data buffer, plus the total at the end.
    let dataStarts: [UInt64]
    /// The length of the header, padded (the 8-byte length before it not included).
    let headerLength: UInt64

    /// The whole file's size.
    var size: UInt64 { SafetensorsHeader.prefixLength + headerLength + dataStarts.last! }

    /// Plans the file for a rank holding `slices` (one per tensor of `model`, in order).
    init(model: LogicalModel, slices: [SliceGeometry]) {
        var starts: [UInt64] = [0]
        starts.reserveCapacity(slices.count + 1)
        for slice in slices { starts.append(starts.last! + slice.byteCount) }
        dataStarts = starts
        headerLength = SynthesizedHeader.length(metadata: MergedModel.mergedMetadata(of: model), entries: Self.entries(of: model, slices: slices, starts: starts))
    }

    /// The 8-byte length and the header, for a rank holding `slices`.
    func header(model: LogicalModel, slices: [SliceGeometry]) -> GeneratedBytes {
        SynthesizedHeader.fileStart(length: headerLength, metadata: MergedModel.mergedMetadata(of: model),
                                    entries: Self.entries(of: model, slices: slices, starts: dataStarts))
    }

    private static func entries(of model: LogicalModel, slices: [SliceGeometry], starts: [UInt64]) -> some Sequence<HeaderEntry> {
        model.tensors.indices.lazy.map { index in
            HeaderEntry(name: model.tensors[index].name, dtype: model.tensors[index].info.dtype, shape: slices[index].shape,
                        dataOffsets: ByteRange(start: starts[index], end: starts[index + 1]))
        }
    }
}
