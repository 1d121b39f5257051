import ByteSources
import SafetensorsFormat

/// Copies bytes of a strided slice out of its source with the `ByteSource.copyBytes` methods
/// (`pread`, or `process_vm_readv` from the mapping, for local files), never by touching the
/// mapping: a source truncated underneath makes the copy fail with an error instead of raising
/// SIGBUS in the daemon.
enum StridedCopy {
    /// Gaps between runs at least this long are skipped: the runs are gathered one by one (many
    /// per system call), so that pages holding only other ranks' bytes are never read.
    static let skippedGap: UInt64 = 4096
    /// Shorter gaps are read through, runs and gaps together, in requests of at most this many
    /// bytes, then the runs are copied out: fewer, larger reads.
    static let spanLimit: UInt64 = 4 << 20

    /// Fills `destination` with bytes `range` of `slice` (positions within the slice), where the
    /// sliced tensor's first byte is `tensorStart` in `source`.
    static func copy(
        _ range: ByteRange, of slice: SliceGeometry, tensorStart: UInt64,
        from source: any ByteSource, into destination: UnsafeMutableRawBufferPointer
    ) throws(ByteSourceError) {
        precondition(UInt64(destination.count) == range.count && range.end <= slice.byteCount)
        guard !range.isEmpty else { return }
        let base = tensorStart + slice.firstOffset
        let runsPerSpan = spanLimit / slice.strideBytes
        if slice.strideBytes - slice.chunkBytes >= skippedGap || runsPerSpan < 2 {
            var ranges: [ByteRange] = []
            ranges.reserveCapacity(Int(range.count / slice.chunkBytes) + 2)
            forEachRun(of: slice, in: range) { offset, _, count in
                ranges.append(ByteRange(start: base + offset, end: base + offset + count))
            }
            try source.copyBytes(in: ranges, into: destination)
            return
        }
        let wholeSpan = sourceOffset(of: range.end - 1, in: slice) - sourceOffset(of: range.start, in: slice) + 1
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(min(spanLimit, wholeSpan)), alignment: 64)
        defer { scratch.deallocate() }
        var start = range.start
        while start < range.end {
            let end = min(range.end, (start / slice.chunkBytes + runsPerSpan) * slice.chunkBytes)
            let spanStart = sourceOffset(of: start, in: slice)
            let spanEnd = sourceOffset(of: end - 1, in: slice) + 1
            try source.copyBytes(in: ByteRange(start: base + spanStart, end: base + spanEnd),
                                 into: UnsafeMutableRawBufferPointer(rebasing: scratch[..<Int(spanEnd - spanStart)]))
            forEachRun(of: slice, in: ByteRange(start: start, end: end)) { offset, position, count in
                let from = Int(offset - spanStart)
                let target = Int(position - range.start)
                UnsafeMutableRawBufferPointer(rebasing: destination[target..<target + Int(count)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: scratch[from..<from + Int(count)]))
            }
            start = end
        }
    }

    /// Where slice byte `position` lies, relative to the slice's first run.
    private static func sourceOffset(of position: UInt64, in slice: SliceGeometry) -> UInt64 {
        let (run, within) = position.quotientAndRemainder(dividingBy: slice.chunkBytes)
        return run * slice.strideBytes + within
    }

    /// Calls `body` for each piece of a run that `range` covers, in order, with the piece's
    /// offset relative to the slice's first run, its position in the slice, and its length.
    private static func forEachRun<Failure: Error>(
        of slice: SliceGeometry, in range: ByteRange,
        _ body: (_ offset: UInt64, _ position: UInt64, _ count: UInt64) throws(Failure) -> Void
    ) throws(Failure) {
        var position = range.start
        while position < range.end {
            let within = position % slice.chunkBytes
            let count = min(slice.chunkBytes - within, range.end - position)
            try body(sourceOffset(of: position, in: slice), position, count)
            position += count
        }
    }
}
