import SafetensorsFormat

/// `__metadata__.json` at a model's root: a summary of the model, each index's `metadata`,
/// every shard's `__metadata__`, and what `model.safetensors` holds or why it is absent.
enum MetadataFile {
    /// The file's contents for `model`, whose merged file is planned as `merged`.
    static func bytes(for model: LogicalModel, merged: Result<MergedModel, MergedModelUnavailable>) -> [UInt8] {
        var writer = JSONWriter()
        writer.object { fields in
            fields.member("model", string: model.name)
            fields.member("summary", object: { summary in
                summary.member("tensors", number: model.tensors.count)
                summary.member("bytes", number: model.totalTensorBytes)
                summary.member("dtypes", object: { histogram in
                    for (dtype, count) in model.tensors.dtypeHistogram() {
                        histogram.member(dtype.name, number: count)
                    }
                })
                summary.member("shards", number: model.shards.count)
            })
            fields.member("indexes", array: model.indexes) { list, index in
                list.object(indent: 4) { entry in
                    entry.member("file", string: index.file)
                    entry.member("metadata") { $0.reindented(index.metadataJSON ?? "null", indent: 6) }
                }
            }
            fields.member("shards", array: model.shards) { list, shard in
                list.object(indent: 4) { entry in
                    entry.member("file", string: shard.relativeName)
                    entry.member("size", number: shard.source.size)
                    entry.member("tensors", number: shard.tensorCount)
                    entry.member("__metadata__") { writeMetadata(shard.metadata, into: &$0, indent: 6) }
                }
            }
            modelFileMember(&fields, size: merged.map(\.size), metadata: MergedModel.mergedMetadata(of: model))
            fields.member("warnings", array: model.warnings) { $0.string($1) }
        }
        writer.raw("\n")
        return writer.bytes
    }

    /// The `model.safetensors` member: whether the file is there, with its size and (when
    /// given) its `__metadata__`, or why not.
    static func modelFileMember(_ fields: inout ObjectWriter, size: Result<UInt64, MergedModelUnavailable>, metadata: [MetadataEntry]? = nil) {
        fields.member("model.safetensors", object: { file in
            switch size {
            case .success(let size):
                file.member("present") { $0.raw("true") }
                file.member("size", number: size)
                if let metadata { file.member("__metadata__") { writeMetadata(metadata, into: &$0, indent: 4) } }
            case .failure(let unavailable):
                file.member("present") { $0.raw("false") }
                file.member("reason", string: "the merged header would be \(unavailable.headerLength) bytes, over the format's limit of \(unavailable.limit)")
            }
        })
    }

    /// `__metadata__` pairs as an object, or `null` when there are none.
    private static func writeMetadata(_ metadata: [MetadataEntry]?, into writer: inout JSONWriter, indent: Int) {
        guard let metadata else { return writer.raw("null") }
        writer.object(indent: indent) { pairs in
            for pair in metadata { pairs.member(pair.key, string: pair.value) }
        }
    }
}
