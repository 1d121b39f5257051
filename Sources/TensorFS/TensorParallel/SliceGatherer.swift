import ByteSources
import SafetensorsFormat
import Synchronization

/// A tensor slice whose bytes are strided in its source: served from gathered copies.
struct StridedSlice: Sendable {
    /// The slice's number, which names its blocks in the cache.
    var number: Int
    /// Where the tensor's bytes are.
    var source: any ByteSource
    /// The absolute offset of the tensor's first byte in `source`.
    var tensorStart: UInt64
    /// Where the slice lies in the tensor.
    var geometry: SliceGeometry
}

/// Gathers strided slices in fixed-size blocks, so that a read gathers only the blocks it
/// touches, and keeps the most recently used blocks within a memory budget.
final class SliceGatherer: Sendable {
    /// The length of a block; the last block of a slice may be shorter.
    static let blockSize: UInt64 = 1 << 20

    private struct BlockKey: Hashable, Sendable {
        var slice: Int
        var block: UInt64
    }

    private let cache: Mutex<ByteBudgetLRU<BlockKey, GeneratedBytes>>

    /// A gatherer whose cache holds at most `budget` bytes (0: gather on every read).
    init(budget: Int) {
        cache = Mutex(ByteBudgetLRU(budget: budget))
    }

    /// Block `block` of `slice`, from the cache or gathered now.
    func block(_ block: UInt64, of slice: StridedSlice) throws(ByteSourceError) -> GeneratedBytes {
        let key = BlockKey(slice: slice.number, block: block)
        if let cached = cache.withLock({ $0.value(for: key) }) { return cached }
        let start = block * SliceGatherer.blockSize
        let range = ByteRange(start: start, end: min(slice.geometry.byteCount, start + SliceGatherer.blockSize))
        let bytes = try GeneratedBytes(count: Int(range.count)) { (buffer) throws(ByteSourceError) in
            try StridedCopy.copy(range, of: slice.geometry, tensorStart: slice.tensorStart, from: slice.source, into: buffer)
        }
        cache.withLock { $0.insert(bytes, for: key, cost: bytes.count) }
        return bytes
    }

    /// How many bytes the cache holds now.
    var cachedBytes: Int { cache.withLock { $0.cost } }
}

/// Part of one block of a strided slice, gathered when a read is served.
struct GatheredPiece {
    /// Who gathers and caches the block.
    var gatherer: SliceGatherer
    /// The slice.
    var slice: StridedSlice
    /// Which block of it.
    var block: UInt64
    /// The bytes wanted, within the block.
    var range: Range<Int>

    /// The whole block; the caller keeps it alive while it uses `range` of it.
    func gatheredBlock() throws(ByteSourceError) -> GeneratedBytes {
        try gatherer.block(block, of: slice)
    }
}
