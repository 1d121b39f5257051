import SafetensorsFormat

/// Consecutive slices of one rank, end to end: the body of a slice's file (one slice) or of
/// a rank's `model.safetensors` (all of them).
struct SliceRun {
    /// Who knows the slices.
    let views: TensorParallelViews
    /// The rank view the slices belong to.
    let view: Int
    /// The model's tensor index of the first slice.
    let firstTensor: Int
    /// Where each slice starts in the run, plus the run's size at the end.
    let starts: [UInt64]

    /// The run's size in bytes.
    var size: UInt64 { starts.last! }

    /// Calls `visit` for each segment that makes up `range` of the run, in order.
    func forEachSegment(in range: ByteRange, _ visit: (FileLayout.Segment) -> Void) {
        // The last slice starting at or before the range (empty slices share a start).
        var index = starts.dropLast().lastIndex(atOrBelow: range.start)
        while index < starts.count - 1 && starts[index] < range.end {
            if let part = range.clamped(to: ByteRange(start: starts[index], end: starts[index + 1])) {
                let within = ByteRange(start: part.start - starts[index], end: part.end - starts[index])
                views.forEachSegment(ofSlice: firstTensor + index, in: view, range: within, visit)
            }
            index += 1
        }
    }
}
