import ByteSources
import SafetensorsFormat

/// The values of a tensor (or of a rank's slice) as little-endian float32s, computed when a
/// read asks for them: the read's elements are copied out of the source (never read through
/// its mapping, which faults if the file shrinks), widened into the reply's buffer and, for a
/// scaled weight, multiplied by their scales. A read holds at most its own output, the source
/// bytes behind it and the scales it needs.
struct Float32Body: ByteSegments {
    /// The elements' dtype.
    let dtype: DType
    /// How many elements there are.
    let count: UInt64
    /// Where the elements' bytes come from.
    let bytes: FileContents.Body
    /// The scale to multiply by, with where the presented rows lie in the scaled tensor.
    let scaling: (scale: ScaleBinding, rows: RowPlacement)?

    /// The values of `tensor`, multiplied by `scale` if given.
    init(_ tensor: PresentedTensor, scale: ScaleBinding?) {
        dtype = tensor.tensor.info.dtype
        count = Self.valueCount(of: tensor)
        bytes = tensor.bytes
        scaling = scale.map { ($0, RowPlacement(tensor)) }
    }

    /// How many values `tensor` presents (elements, not bytes: two per byte of F4).
    static func valueCount(of tensor: PresentedTensor) -> UInt64 {
        tensor.byteCount * 8 / UInt64(tensor.tensor.info.dtype.bitsPerElement)
    }

    var size: UInt64 { count * 4 }

    func forEachSegment(in range: ByteRange, _ visit: (ByteSegment) -> Void) {
        visit(.produced(Float32Chunk(body: self, range: range)))
    }

    /// Where the bytes of elements `elements` lie in `bytes`.
    func sourceRange(of elements: Range<UInt64>) -> ByteRange {
        let bits = UInt64(dtype.bitsPerElement)
        return ByteRange(start: elements.lowerBound * bits / 8, end: (elements.upperBound * bits + 7) / 8)
    }

    /// Writes the values of elements `elements` into `output`, copying their bytes into
    /// `scratch` (of `sourceRange(of: elements).count` bytes) first.
    func values(_ elements: Range<UInt64>, into output: UnsafeMutableBufferPointer<Float>, scratch: UnsafeMutableRawBufferPointer) throws(ByteSourceError) {
        guard !elements.isEmpty else { return }
        try bytes.copyBytes(in: sourceRange(of: elements), into: scratch)
        Float32Widening.widen(dtype, from: UnsafeRawPointer(scratch.baseAddress!), startsInHighNibble: elements.lowerBound * UInt64(dtype.bitsPerElement) % 8 != 0,
                              count: output.count, into: UnsafeMutableRawPointer(output.baseAddress!))
        if let scaling {
            try ScaledRows(scale: scaling.scale, rows: scaling.rows, elements: elements)
                .multiply(output)
        }
    }
}

/// Part of a `Float32Body`, computed when the reply is made, in a buffer reused from read to
/// read when it fits one (fresh memory costs a page fault and a cleared page per 4 KiB, which
/// took most of the time of a read).
struct Float32Chunk: ProducedBytes {
    let body: Float32Body
    /// The bytes wanted, within the body.
    let range: ByteRange

    /// Buffers that fit a 1 MiB read of values and the source bytes behind them.
    static let buffers = BufferPool(bufferSize: (1 << 20) + (1 << 19) + 64, limit: 8)

    func withBytes<Result>(_ use: (UnsafeRawBufferPointer) throws(ByteSourceError) -> Result) throws(ByteSourceError) -> Result {
        let elements = range.start / 4..<(range.end + 3) / 4
        let valueBytes = Int(elements.count) * 4
        let needed = valueBytes + Int(body.sourceRange(of: elements).count)
        let buffer = needed <= Self.buffers.bufferSize ? Self.buffers.takeBuffer() : Self.buffers.take(count: needed)
        defer { Self.buffers.give(buffer) }
        let memory = buffer.pointer
        let values = memory.bindMemory(to: Float.self, capacity: Int(elements.count))
        try body.values(elements, into: UnsafeMutableBufferPointer(start: values, count: Int(elements.count)),
                        scratch: UnsafeMutableRawBufferPointer(start: memory + valueBytes, count: needed - valueBytes))
        let skipped = Int(range.start - elements.lowerBound * 4)
        return try use(UnsafeRawBufferPointer(start: memory + skipped, count: Int(range.count)))
    }
}

/// Multiplies a run of a tensor's elements by their scales: row by row, a block of columns at
/// a time, each by its one scale. The scales the run needs are read once, in one range, unless
/// that range is longer than the run (a run over the ends of two very long rows): then row by row.
private struct ScaledRows {
    let scale: ScaleBinding
    let rows: RowPlacement
    let elements: Range<UInt64>

    func multiply(_ values: UnsafeMutableBufferPointer<Float>) throws(ByteSourceError) {
        let grid = scale.grid
        let columns = rows.columns
        let first = elements.lowerBound.quotientAndRemainder(dividingBy: columns)
        let last = (elements.upperBound - 1).quotientAndRemainder(dividingBy: columns)
        let spansRows = first.quotient != last.quotient
        let firstScale = grid.scaleIndex(row: rows.wholeRow(of: first.quotient), column: rows.columnOffset + (spansRows ? 0 : first.remainder))
        let lastScale = grid.scaleIndex(row: rows.wholeRow(of: last.quotient), column: rows.columnOffset + (spansRows ? columns - 1 : last.remainder))
        let allAtOnce = lastScale - firstScale < UInt64(values.count)
        let capacity = allAtOnce ? lastScale - firstScale + 1 : UInt64(min(values.count, Int(columns))) + 1
        try withUnsafeTemporaryAllocation(of: Float.self, capacity: Int(capacity)) { (buffer) throws(ByteSourceError) in
            var loaded = firstScale..<firstScale
            /// The scales `needed`, read unless they are already.
            func load(_ needed: ClosedRange<UInt64>) throws(ByteSourceError) {
                guard !(loaded.contains(needed.lowerBound) && loaded.contains(needed.upperBound)) else { return }
                loaded = allAtOnce ? firstScale..<lastScale + 1 : needed.lowerBound..<needed.upperBound + 1
                try scale.read(loaded, into: UnsafeMutableBufferPointer(rebasing: buffer[..<Int(loaded.count)]))
            }
            var element = elements.lowerBound
            while element < elements.upperBound {
                let (row, column) = element.quotientAndRemainder(dividingBy: columns)
                let runEnd = min(elements.upperBound, element - column + columns)
                let wholeRow = rows.wholeRow(of: row)
                var wholeColumn = rows.columnOffset + column
                let endColumn = wholeColumn + (runEnd - element)
                let needed = grid.scaleIndex(row: wholeRow, column: wholeColumn)...grid.scaleIndex(row: wholeRow, column: endColumn - 1)
                try load(needed)
                while wholeColumn < endColumn {
                    let pieceEnd = min(endColumn, grid.blockEnd(after: wholeColumn))
                    let factor = buffer[Int(grid.scaleIndex(row: wholeRow, column: wholeColumn) - loaded.lowerBound)]
                    let start = Int(element - elements.lowerBound)
                    for index in start..<start + Int(pieceEnd - wholeColumn) { values[index] *= factor }
                    element += pieceEnd - wholeColumn
                    wholeColumn = pieceEnd
                }
            }
        }
    }
}
