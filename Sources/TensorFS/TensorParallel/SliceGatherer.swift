import ByteSources
import SafetensorsFormat
import Synchronization

/// A tensor slice whose bytes are strided in its source: served from gathered copies.
struct StridedSlice: Sendable {
    /// Which slice it is: its blocks' names in the cache.
    var identity: SliceIdentity
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
        var slice: SliceIdentity
        var block: UInt64
    }

    private let cache: Mutex<ByteBudgetLRU<BlockKey, GeneratedBytes>>

    /// A gatherer whose cache holds at most `budget` bytes (0: gather on every read).
    init(budget: Int) {
        cache = Mutex(ByteBudgetLRU(budget: budget))
    }

    /// Block `block` of `slice`, from the cache or gathered now.
    func block(_ block: UInt64, of slice: StridedSlice) throws(ByteSourceError) -> GeneratedBytes {
        let key = BlockKey(slice: slice.identity, block: block)
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

/// One rank view's slice of one tensor of its model.
struct SliceIdentity: Hashable, Sendable {
    var view: Int
    var tensor: Int
}

/// A strided slice's bytes, served from blocks gathered when reads need them.
struct GatheredSlice: ByteSegments {
    /// Who gathers and caches the blocks.
    let gatherer: SliceGatherer
    /// The slice.
    let slice: StridedSlice

    var size: UInt64 { slice.geometry.byteCount }

    func forEachSegment(in range: ByteRange, _ visit: (ByteSegment) -> Void) {
        var position = range.start
        while position < range.end {
            let block = position / SliceGatherer.blockSize
            let blockStart = block * SliceGatherer.blockSize
            let end = min(range.end, blockStart + SliceGatherer.blockSize)
            visit(.produced(GatheredPiece(gatherer: gatherer, slice: slice, block: block,
                                          range: Int(position - blockStart)..<Int(end - blockStart))))
            position = end
        }
    }
}

/// Part of one block of a strided slice, gathered when a read is served.
struct GatheredPiece: ProducedBytes {
    /// Who gathers and caches the block.
    var gatherer: SliceGatherer
    /// The slice.
    var slice: StridedSlice
    /// Which block of it.
    var block: UInt64
    /// The bytes wanted, within the block.
    var range: Range<Int>

    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws(ByteSourceError) -> Result) throws(ByteSourceError) -> Result {
        let gathered = try gatherer.block(block, of: slice)
        return try withExtendedLifetime(gathered) { () throws(ByteSourceError) -> Result in
            try body(UnsafeRawBufferPointer(rebasing: gathered.buffer[range]))
        }
    }
}
