import SafetensorsFormat

/// `T.json`: what the tensor in `T` is and where its bytes come from; beside a rank's slice,
/// also which part of the tensor the slice is; and, for views that compute their files (`f32`),
/// how.
struct SidecarView: TensorView {
    var name: String { "json" }
    var suffix: StaticString { ".json" }
    var isDefault: Bool { true }

    func generatedBytes(for tensor: PresentedTensor) -> [UInt8]? {
        Self.bytes(for: tensor)
    }

    func body(for tensor: PresentedTensor) -> FileContents.Body {
        .none
    }

    /// The sidecar's JSON. `shape` and `nbytes` describe the file's tensor (a slice's own);
    /// `file`, `data_offsets` and `file_offset` place the whole tensor in its source.
    static func bytes(for presented: PresentedTensor) -> [UInt8] {
        let tensor = presented.tensor
        let shard = presented.model.shards[tensor.shard]
        var writer = JSONWriter()
        writer.object { fields in
            fields.member("name", string: tensor.name)
            fields.member("dtype", string: tensor.info.dtype.name)
            fields.member("shape") { $0.numbers(presented.shape) }
            fields.member("nbytes", number: presented.byteCount)
            fields.member("file", string: shard.relativeName)
            fields.member("data_offsets") { $0.numbers([tensor.info.dataOffsets.start, tensor.info.dataOffsets.end]) }
            fields.member("file_offset", number: tensor.fileRange.start)
            if let part = presented.rankPart {
                fields.member("tensor_parallel", object: { member in
                    member.member("size", number: part.degree)
                    member.member("rank", number: part.rank)
                    member.member("global_shape") { $0.numbers(tensor.info.shape) }
                    if let cut = part.geometry.cut {
                        member.member("dim", number: cut.dimension)
                        member.member("start", number: cut.start)
                        member.member("length", number: cut.length)
                    } else {
                        member.member("dim") { $0.raw("null") }
                    }
                    member.member("gathered") { $0.raw(part.geometry.isContiguous ? "false" : "true") }
                })
            }
            let described = TensorViews.all.compactMap { view in view.sidecarMembers(for: presented).map { (view.name, $0) } }
            if !described.isEmpty {
                let depth = fields.indent + 4
                fields.member("views", array: described) { writer, view in
                    writer.object(indent: depth) { members in
                        members.member("view", string: view.0)
                        view.1(&members)
                    }
                }
            }
        }
        writer.raw("\n")
        return writer.bytes
    }
}
