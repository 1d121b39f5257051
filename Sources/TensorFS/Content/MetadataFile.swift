import SafetensorsFormat

/// `__metadata__.json` at a model's root: every shard's `__metadata__`, each index's `metadata`,
/// and a summary of the model.
enum MetadataFile {
    static func bytes(for model: LogicalModel, merged: Result<MergedModel, MergedModelUnavailable>) -> [UInt8] {
        var writer = JSONWriter()
        writer.object { fields in
            fields.member("model", string: model.name)
            fields.member("summary", object: { summary in
                summary.member("tensors", number: model.tensors.count)
                summary.member("bytes", number: model.totalTensorBytes)
                summary.member("dtypes", object: { histogram in
                    for (dtype, count) in dtypeHistogram(of: model) {
                        histogram.member(dtype.name, number: count)
                    }
                })
                summary.member("shards", number: model.shards.count)
            })
            fields.member("indexes", array: model.indexes) { list, index in
                list.object(indent: 4) { entry in
                    entry.member("file", string: index.file)
                    entry.member("metadata") { $0.raw(index.metadataJSON ?? "null") }
                }
            }
            fields.member("shards", array: model.shards) { list, shard in
                list.object(indent: 4) { entry in
                    entry.member("file", string: shard.relativeName)
                    entry.member("size", number: shard.source.size)
                    entry.member("tensors", number: shard.tensorCount)
                    entry.member("__metadata__") { value in
                        guard let metadata = shard.metadata else { return value.raw("null") }
                        value.object(indent: 6) { pairs in
                            for pair in metadata { pairs.member(pair.key, string: pair.value) }
                        }
                    }
                }
            }
            modelFileMember(&fields, size: merged.map(\.size))
            fields.member("warnings", array: model.warnings) { $0.string($1) }
        }
        writer.raw("\n")
        return writer.bytes
    }

    /// The `model.safetensors` member: whether the file is there, and its size or why not.
    static func modelFileMember(_ fields: inout ObjectWriter, size: Result<UInt64, MergedModelUnavailable>) {
        fields.member("model.safetensors", object: { file in
            switch size {
            case .success(let size):
                file.member("present") { $0.raw("true") }
                file.member("size", number: size)
            case .failure(let unavailable):
                file.member("present") { $0.raw("false") }
                file.member("reason", string: "the merged header would be \(unavailable.headerLength) bytes, over the format's limit of \(SafetensorsHeader.maximumHeaderLength)")
            }
        })
    }

    /// How many tensors of each dtype, most frequent first.
    static func dtypeHistogram(of model: LogicalModel) -> [(DType, Int)] {
        var counts: [DType: Int] = [:]
        for tensor in model.tensors { counts[tensor.info.dtype, default: 0] += 1 }
        return counts.sorted { ($1.value, $0.key.name) < ($0.value, $1.key.name) }
    }
}
