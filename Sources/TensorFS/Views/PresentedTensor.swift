import SafetensorsFormat

/// A tensor as one file presents it: the whole tensor, or one rank's slice of it.
struct PresentedTensor {
    /// The model holding the tensor.
    let model: LogicalModel
    /// The tensor, whole.
    let tensor: ModelTensor
    /// Which part a rank holds, or nil for the whole tensor.
    let rankPart: RankPart?
    /// The bytes presented, where they come from.
    let bytes: FileContents.Body
    /// How the mount's f32 view computes the tensor's values; nil when the mount does not show
    /// the tensor's `.f32.npy`.
    var float32: Float32Conversion? = nil

    /// The presented shape: the slice's, or the tensor's.
    var shape: [UInt64] { rankPart?.geometry.shape ?? tensor.info.shape }
    /// The presented size in bytes.
    var byteCount: UInt64 { rankPart?.geometry.byteCount ?? tensor.info.byteCount }
    /// The tensor as presented: its name and dtype, the presented shape, its bytes from 0.
    var info: TensorInfo {
        TensorInfo(name: tensor.name, dtype: tensor.info.dtype, shape: shape, dataOffsets: ByteRange(start: 0, end: byteCount))
    }
}

/// One rank's part of a tensor.
struct RankPart {
    /// How many ranks share the tensor.
    var degree: Int
    /// Which of them this is.
    var rank: Int
    /// Where the rank's part lies in the tensor.
    var geometry: SliceGeometry
}
