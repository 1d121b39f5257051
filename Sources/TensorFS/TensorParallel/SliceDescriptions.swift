import SafetensorsFormat

/// The generated files that describe slices and ranks: a slice's `T.json` sidecar, and a
/// rank's `__metadata__.json`.
enum SliceDescriptions {
    /// The sidecar of one rank's slice of `tensor`: the usual members describe the slice's file
    /// (`shape`, `nbytes`) and place the whole tensor in its source (`file`, `data_offsets`,
    /// `file_offset`); `tensor_parallel` says which part of the tensor this is.
    static func sidecar(of slice: SliceGeometry, tensor: ModelTensor, in model: LogicalModel, degree: Int, rank: Int) -> [UInt8] {
        Sidecar.bytes(for: tensor, in: model, shape: slice.shape, byteCount: slice.byteCount) { fields in
            fields.member("tensor_parallel", object: { part in
                part.member("size", number: degree)
                part.member("rank", number: rank)
                part.member("global_shape") { $0.numbers(tensor.info.shape) }
                if let cut = slice.cut {
                    part.member("dim", number: cut.dimension)
                    part.member("start", number: cut.start)
                    part.member("length", number: cut.length)
                } else {
                    part.member("dim") { $0.raw("null") }
                }
                part.member("gathered") { $0.raw(slice.isContiguous ? "false" : "true") }
            })
        }
    }

    /// A rank's `__metadata__.json`: which rank it is, a summary of its slices, the model's
    /// `__metadata__`, and whether its `model.safetensors` is there.
    static func rankMetadata(
        model: LogicalModel, slices: [SliceGeometry], degree: Int, rank: Int, uneven: UnevenSplit,
        modelFile: Result<RankModelFile, MergedModelUnavailable>
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
            MetadataFile.modelFileMember(&fields, size: modelFile.map(\.size))
        }
        writer.raw("\n")
        return writer.bytes
    }
}
