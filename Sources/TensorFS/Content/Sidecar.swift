import SafetensorsFormat

/// The `T.json` file beside a tensor: what it is and where its bytes come from.
enum Sidecar {
    static func bytes(for tensor: ModelTensor, in model: LogicalModel) -> [UInt8] {
        bytes(for: tensor, in: model, shape: tensor.info.shape, byteCount: tensor.info.byteCount) { _ in }
    }

    /// The sidecar of a file that presents `shape` (`byteCount` bytes) of `tensor`, such as one
    /// rank's slice of it; `file`, `data_offsets` and `file_offset` still place the whole tensor.
    /// `extraMembers` appends members of its own.
    static func bytes(
        for tensor: ModelTensor, in model: LogicalModel, shape: [UInt64], byteCount: UInt64,
        extraMembers: (inout ObjectWriter) -> Void
    ) -> [UInt8] {
        let shard = model.shards[tensor.shard]
        var writer = JSONWriter()
        writer.object { fields in
            fields.member("name", string: tensor.name)
            fields.member("dtype", string: tensor.info.dtype.name)
            fields.member("shape") { $0.numbers(shape) }
            fields.member("nbytes", number: byteCount)
            fields.member("file", string: shard.relativeName)
            fields.member("data_offsets") { $0.numbers([tensor.info.dataOffsets.start, tensor.info.dataOffsets.end]) }
            fields.member("file_offset", number: tensor.fileRange.start)
            extraMembers(&fields)
        }
        writer.raw("\n")
        return writer.bytes
    }
}
