import ByteSources
import SafetensorsFormat

/// The body of a file made of segments that its producer knows how to find (shards' data
/// buffers end to end, a rank's slices, values converted on the fly): `FileContents` reads it
/// without knowing who produces it.
protocol ByteSegments: Sendable {
    /// The body's size in bytes.
    var size: UInt64 { get }
    /// Calls `visit` for each segment that makes up `range` of the body (within its size), in order.
    func forEachSegment(in range: ByteRange, _ visit: (ByteSegment) -> Void)
}

/// A piece of a file: memory that outlives the read, a range of a source, or bytes produced
/// when the read is served.
enum ByteSegment {
    case memory(UnsafeRawBufferPointer)
    case source(SourceSegment)
    case produced(any ProducedBytes)
}

/// A range of a source, with the span of the source that the file's body covers there (a
/// tensor, a slice, or a shard's data buffer): sources read ahead within it, never beyond.
struct SourceSegment {
    var source: any ByteSource
    var range: ByteRange
    var extent: ByteRange
    /// Whether to ask the source to read ahead within the extent before the read, so that
    /// the kernel's read-around of the mapping does not pull in bytes of other slices.
    var readsAheadWithinExtent = false

    /// How far past a read within an extent the source is asked to read ahead.
    static let readAheadWithinExtent: UInt64 = 8 << 20
}

/// Bytes made when a read is served (gathered from strided runs, converted from another
/// dtype), handed to the reply for as long as it needs them.
protocol ProducedBytes {
    /// Calls `body` with the bytes, which stay valid until it returns.
    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws(ByteSourceError) -> Result) throws(ByteSourceError) -> Result
}

/// Parts laid end to end (shards' data buffers in a merged `model.safetensors`, a rank's
/// slices in its own): a read visits the parts it overlaps.
struct ConsecutiveParts: ByteSegments {
    /// Where each part starts, plus the total at the end.
    let starts: [UInt64]
    /// The segments of `range` of part `index` (a range within that part).
    let segments: @Sendable (_ index: Int, _ range: ByteRange, _ visit: (ByteSegment) -> Void) -> Void

    var size: UInt64 { starts.last! }

    func forEachSegment(in range: ByteRange, _ visit: (ByteSegment) -> Void) {
        // The last part starting at or before the range (empty parts share a start).
        var index = starts.dropLast().lastIndex(atOrBelow: range.start)
        while index < starts.count - 1 && starts[index] < range.end {
            if let part = range.clamped(to: ByteRange(start: starts[index], end: starts[index + 1])) {
                segments(index, ByteRange(start: part.start - starts[index], end: part.end - starts[index]), visit)
            }
            index += 1
        }
    }
}
