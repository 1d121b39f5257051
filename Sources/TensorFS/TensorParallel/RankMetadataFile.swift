import SafetensorsFormat

/// A rank's `__metadata__.json`: which rank it is, a summary of its slices, the model's
/// `__metadata__`, and whether its `model.safetensors` is there.
enum RankMetadataFile {
    /// The file's contents.
    static func bytes(
        model: LogicalModel, slices: [SliceGeometry], degree: Int, rank: Int, uneven: UnevenSplit,
        modelFile: Result<UInt64, MergedModelUnavailable>
    ) -> [UInt8] {
        var writer = JSONWriter()
        writer.object { fields in
            fields.member("model", string: model.name)
            fields.member("tensor_parallel", object: { part in
                part.member("size", number: degree)
                part.member("rank", number: rank)
                part.member("uneven", string: uneven.rawValue)
            })
            fields.member("summary", object: { summary in
                let splitCount = slices.count(where: { $0.cut != nil })
                summary.member("tensors", number: slices.count)
                summary.member("bytes", number: slices.reduce(UInt64(0)) { $0 + $1.byteCount })
                summary.member("split", number: splitCount)
                summary.member("replicated", number: slices.count - splitCount)
                summary.member("gathered", number: slices.count(where: { !$0.isContiguous }))
            })
            fields.member("__metadata__", object: { pairs in
                for entry in MergedModel.mergedMetadata(of: model) { pairs.member(entry.key, string: entry.value) }
            })
            MetadataFile.modelFileMember(&fields, size: modelFile)
        }
        writer.raw("\n")
        return writer.bytes
    }
}
