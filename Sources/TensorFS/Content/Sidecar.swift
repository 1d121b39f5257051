import SafetensorsFormat

/// The `T.json` file beside a tensor: what it is and where its bytes come from.
enum Sidecar {
    static func bytes(for tensor: ModelTensor, in model: LogicalModel) -> [UInt8] {
        let shard = model.shards[tensor.shard]
        var writer = JSONWriter()
        writer.object { fields in
            fields.member("name", string: tensor.name)
            fields.member("dtype", string: tensor.info.dtype.name)
            fields.member("shape") { $0.numbers(tensor.info.shape) }
            fields.member("nbytes", number: tensor.info.byteCount)
            fields.member("file", string: shard.relativeName)
            fields.member("data_offsets") { $0.numbers([tensor.info.dataOffsets.start, tensor.info.dataOffsets.end]) }
            fields.member("file_offset", number: tensor.fileRange.start)
        }
        writer.raw("\n")
        return writer.bytes
    }
}
