/// Where the rows of a tensor as a file presents it lie among the rows of the whole tensor, rows
/// counted through every dimension but the last: the same rows for the whole tensor; for a
/// rank's slice, which cuts one dimension, a subset, and columns shifted when the cut is of
/// the last dimension.
struct RowPlacement: Sendable {
    /// Elements per row as presented (the last extent).
    let columns: UInt64
    /// How far the presented columns lie from the whole tensor's first.
    let columnOffset: UInt64
    private let cut: RowCut?

    /// A cut of a dimension before the last: the presented rows come in runs of `length x inner`,
    /// each `whole x inner` rows apart in the whole tensor, the first `start x inner` rows in.
    private struct RowCut: Sendable {
        let start: UInt64
        let length: UInt64
        let whole: UInt64
        let inner: UInt64
    }

    /// The placement of `tensor`'s rows.
    init(_ tensor: PresentedTensor) {
        let shape = tensor.shape
        columns = shape.last ?? 1
        guard let cut = tensor.rankPart?.geometry.cut else {
            (columnOffset, self.cut) = (0, nil)
            return
        }
        if cut.dimension == shape.count - 1 {
            (columnOffset, self.cut) = (cut.start, nil)
            return
        }
        columnOffset = 0
        self.cut = RowCut(start: cut.start, length: cut.length, whole: tensor.tensor.info.shape[cut.dimension],
                          inner: shape[(cut.dimension + 1)..<(shape.count - 1)].reduce(1, *))
    }

    /// The whole tensor's row that presented row `row` is.
    func wholeRow(of row: UInt64) -> UInt64 {
        guard let cut else { return row }
        let (run, within) = row.quotientAndRemainder(dividingBy: cut.length * cut.inner)
        return (run * cut.whole + cut.start) * cut.inner + within
    }
}
