import SafetensorsFormat

/// How a scale tensor covers a tensor of shape `[..., rows, columns]` (one row below two
/// dimensions, one column for a scalar). Counting rows through all dimensions but the last, the
/// element in row `r` and column `c` takes scale number
/// `r / rows * leadStride + r % rows / blockRows * gridColumns + c / blockColumns`.
struct ScaleGrid: Sendable, Hashable {
    /// How finely the scales vary.
    enum Granularity: Sendable, Hashable {
        /// One scale for the whole tensor.
        case tensor
        /// One scale per row (per output channel of a `[out, in]` weight).
        case channel
        /// One scale per block of the last two dimensions; blocks at the edges may be smaller.
        case block(QuantizationConfig.BlockSize)

        /// How sidecars and `inspect` name it.
        var name: String {
            switch self {
            case .tensor: "tensor"
            case .channel: "channel"
            case .block: "block"
            }
        }
    }

    let granularity: Granularity
    let rows: UInt64
    let blockRows: UInt64
    let blockColumns: UInt64
    let gridColumns: UInt64
    let leadStride: UInt64

    /// The grid of `granularity` over a tensor of shape `shape`.
    init(_ granularity: Granularity, covering shape: [UInt64]) {
        self.granularity = granularity
        rows = max(shape.count >= 2 ? shape[shape.count - 2] : 1, 1)
        let columns = shape.last ?? 1
        switch granularity {
        case .tensor:
            (blockRows, blockColumns, gridColumns, leadStride) = (.max, .max, 1, 0)
        case .channel:
            (blockRows, blockColumns, gridColumns, leadStride) = (1, .max, 1, rows)
        case .block(let size):
            let columnBlocks = Self.blocks(of: columns, size.columns)
            (blockRows, blockColumns, gridColumns, leadStride) = (size.rows, size.columns, columnBlocks, Self.blocks(of: rows, size.rows) * columnBlocks)
        }
    }

    /// The scale of the element in row `row` (counted through all dimensions but the last) and
    /// column `column`.
    func scaleIndex(row: UInt64, column: UInt64) -> UInt64 {
        let (lead, rowInMatrix) = row.quotientAndRemainder(dividingBy: rows)
        return lead * leadStride + rowInMatrix / blockRows * gridColumns + column / blockColumns
    }

    /// The column where the block holding `column` ends.
    func blockEnd(after column: UInt64) -> UInt64 {
        let (end, overflow) = (column / blockColumns + 1).multipliedReportingOverflow(by: blockColumns)
        return overflow ? .max : end
    }

    /// How a scale of shape `scaleShape` (from a checked header: its product fits in 64 bits)
    /// covers a tensor of shape `shape` (blocks of `blockSize`, if known), or nil when it fits none: one value; one per row (`[..., rows, 1]` or
    /// `[..., rows]`); one per block (`[..., ⌈rows/br⌉, ⌈columns/bc⌉]`).
    static func granularity(ofScale scaleShape: [UInt64], for shape: [UInt64], blockSize: QuantizationConfig.BlockSize?) -> Granularity? {
        if scaleShape.reduce(1, *) == 1 { return .tensor }
        guard shape.count >= 2 else { return nil }
        if scaleShape == shape.dropLast() + [1] || scaleShape == Array(shape.dropLast()) { return .channel }
        if let blockSize, scaleShape == blockGridShape(of: shape, blockSize) { return .block(blockSize) }
        return nil
    }

    /// The shape of a scale with one value per block of `blockSize` over a tensor of `shape`.
    static func blockGridShape(of shape: [UInt64], _ blockSize: QuantizationConfig.BlockSize) -> [UInt64] {
        shape.dropLast(2) + [blocks(of: shape[shape.count - 2], blockSize.rows), blocks(of: shape[shape.count - 1], blockSize.columns)]
    }

    private static func blocks(of extent: UInt64, _ size: UInt64) -> UInt64 {
        extent / size + (extent % size == 0 ? 0 : 1)
    }
}
