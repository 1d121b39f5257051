import SafetensorsFormat

/// What to do when a split dimension does not divide evenly among the ranks.
public enum UnevenSplit: String, Sendable, Hashable, CaseIterable {
    /// Refuse to mount, naming the tensor.
    case error
    /// As `numpy.array_split`: the first `extent % degree` ranks get one more row than the rest.
    case arraySplit = "array-split"
}

/// Where one rank's part of a tensor lies among the tensor's bytes: `chunkCount` runs of
/// `chunkBytes` each, `strideBytes` apart, the first `firstOffset` bytes into the tensor.
/// Cutting dimension d of a row-major tensor leaves one run per index of the dimensions before d.
struct SliceGeometry: Hashable, Sendable {
    /// The shape of the slice.
    var shape: [UInt64]
    /// The cut, or nil when the rank holds the whole tensor.
    var cut: Cut?
    /// How many runs of bytes make up the slice.
    var chunkCount: UInt64
    /// The length of each run.
    var chunkBytes: UInt64
    /// From the start of one run to the start of the next, in the tensor.
    var strideBytes: UInt64
    /// Where the first run starts, relative to the tensor's first byte.
    var firstOffset: UInt64

    /// Which part of which dimension a rank holds.
    struct Cut: Hashable, Sendable {
        /// The dimension cut, counted from the outermost (never negative).
        var dimension: Int
        /// The first index along it.
        var start: UInt64
        /// How many indices along it.
        var length: UInt64
    }

    /// The slice's size in bytes.
    var byteCount: UInt64 { chunkCount * chunkBytes }

    /// Whether the slice is one run of the tensor's bytes, to be served without copying.
    var isContiguous: Bool { chunkCount <= 1 || chunkBytes == strideBytes }

    /// The whole of `tensor`.
    static func whole(_ tensor: TensorInfo) -> SliceGeometry {
        SliceGeometry(shape: tensor.shape, cut: nil, chunkCount: 1, chunkBytes: tensor.byteCount,
                      strideBytes: tensor.byteCount, firstOffset: 0)
    }

    /// Why a tensor cannot be cut as asked.
    enum Problem: Error, Hashable {
        /// The tensor has fewer dimensions than the rule names.
        case noSuchDimension
        /// The dimension does not divide by the degree (and uneven splits are refused).
        case uneven(extent: UInt64)
        /// A cut falls inside a byte (sub-byte dtypes): `indices` indices along the dimension,
        /// `bitsPerIndex` bits each, are not whole bytes.
        case cutInsideByte(indices: UInt64, bitsPerIndex: UInt64)
    }

    /// Rank `rank`'s part of `tensor` cut along `dimension` (negative counts from the last)
    /// into `degree` parts.
    static func cut(
        _ tensor: TensorInfo, dimension requested: Int, rank: Int, degree: Int, uneven: UnevenSplit
    ) throws(Problem) -> SliceGeometry {
        let rankCount = tensor.shape.count
        let dimension = requested < 0 ? requested + rankCount : requested
        guard dimension >= 0, dimension < rankCount else { throw .noSuchDimension }
        let extent = tensor.shape[dimension]
        let (base, extra) = extent.quotientAndRemainder(dividingBy: UInt64(degree))
        guard extra == 0 || uneven == .arraySplit else { throw .uneven(extent: extent) }
        let rankNumber = UInt64(rank)
        let start = rankNumber * base + min(rankNumber, extra)
        let length = base + (rankNumber < extra ? 1 : 0)
        var shape = tensor.shape
        shape[dimension] = length
        let cut = Cut(dimension: dimension, start: start, length: length)
        // An empty tensor has empty slices; its other dimensions may multiply past 64 bits.
        guard tensor.elementCount != 0 else {
            return SliceGeometry(shape: shape, cut: cut, chunkCount: 0, chunkBytes: 0, strideBytes: 0, firstOffset: 0)
        }
        // The tensor's bit count fits in 64 bits (the header was checked), so these products do.
        let outer = tensor.shape[..<dimension].reduce(1, *)
        let innerBits = tensor.shape[(dimension + 1)...].reduce(UInt64(tensor.dtype.bitsPerElement), *)
        for indices in [start, length] + (outer > 1 ? [extent] : []) where indices * innerBits % 8 != 0 {
            throw .cutInsideByte(indices: indices, bitsPerIndex: innerBits)
        }
        return SliceGeometry(
            shape: shape, cut: cut, chunkCount: outer, chunkBytes: length * innerBits / 8,
            strideBytes: extent * innerBits / 8, firstOffset: start * innerBits / 8)
    }
}
