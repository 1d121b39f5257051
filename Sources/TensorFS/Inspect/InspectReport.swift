import SafetensorsFormat

/// What `tensorfs inspect` prints about a model: a table for people, JSON for scripts.
public struct InspectReport {
    /// The model described.
    public let model: LogicalModel
    /// The tensors that match the query, in its order.
    private let matches: [ModelTensor]
    /// The tensors listed: the matches up to the query's limit.
    private let listed: ArraySlice<ModelTensor>
    /// The model's FP8 scales.
    private let scales: ScaleReport

    /// A report on the tensors of `model` that `query` selects.
    public init(model: LogicalModel, query: InspectQuery = InspectQuery()) {
        self.model = model
        matches = query.matching(model)
        listed = matches.prefix(query.limit ?? matches.count)
        scales = ScaleReport(model: model)
    }

    /// `{"metadata": {...}, "tensors": [{"name", "dtype", "shape", "data_offsets", "file"}, ...],
    /// "files": [{"path", "size"}, ...]}`: offsets relative to each file's data buffer; `files`
    /// are the companion files. A tensor that the f32 view dequantizes also has
    /// `dequantized_with` (its scale) and `scale_granularity`; a model whose `config.json` gives
    /// a block size has `weight_block_size`.
    public func json() -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"metadata\": {")
        for (position, entry) in MergedModel.mergedMetadata(of: model).enumerated() {
            if position > 0 { writer.raw(", ") }
            writer.string(entry.key)
            writer.raw(": ")
            writer.string(entry.value)
        }
        writer.raw("}, \"tensors\": [")
        for (position, tensor) in listed.enumerated() {
            writer.raw(position == 0 ? "\n  {\"name\": " : ",\n  {\"name\": ")
            writer.string(tensor.name)
            writer.raw(", \"dtype\": ")
            writer.string(tensor.info.dtype.name)
            writer.raw(", \"shape\": ")
            writer.numbers(tensor.info.shape)
            writer.raw(", \"data_offsets\": ")
            writer.numbers([tensor.info.dataOffsets.start, tensor.info.dataOffsets.end])
            writer.raw(", \"file\": ")
            writer.string(model.shards[tensor.shard].relativeName)
            if let scale = scales.scales[tensor.name] {
                writer.raw(", \"dequantized_with\": ")
                writer.string(scale.tensor.name)
                writer.raw(", \"scale_granularity\": ")
                writer.string(scale.grid.granularity.name)
            }
            writer.raw("}")
        }
        writer.raw(listed.isEmpty ? "]" : "\n]")
        writer.raw(", \"files\": [")
        for (position, companion) in model.companions.enumerated() {
            writer.raw(position == 0 ? "\n  {\"path\": " : ",\n  {\"path\": ")
            writer.string(companion.relativePath)
            writer.raw(", \"size\": ")
            writer.number(companion.source.size)
            writer.raw("}")
        }
        writer.raw(model.companions.isEmpty ? "]" : "\n]")
        if let blockSize = scales.config?.blockScaling?.size {
            writer.raw(", \"weight_block_size\": ")
            writer.numbers([blockSize.rows, blockSize.columns])
        }
        writer.raw("}\n")
        return writer.bytes
    }

    /// The listed tensors as a table (name, dtype, shape, size), then totals per dtype and per
    /// file, the companion files, the FP8 scales (when the model has any), then a summary line.
    /// With `tensors` false, only the totals, the companion files, the scales' summary and the
    /// summary.
    public func table(listingTensors tensors: Bool = true) -> String {
        var sections: [String] = []
        if tensors {
            var rows = listed.map { tensor -> [String] in
                [escapedForOneLine(tensor.name), tensor.info.dtype.name,
                 "[" + tensor.info.shape.map(String.init).joined(separator: ", ") + "]",
                 ByteCountText.format(tensor.info.byteCount)]
            }
            if matches.count > listed.count {
                rows.append(["… \(matches.count - listed.count) more", "", "", ""])
            }
            sections.append(TextTable(header: ["NAME", "DTYPE", "SHAPE", "SIZE"], rows: rows, rightAligned: [3]).text)
        }
        let dtypeTotals = totals(by: { $0.info.dtype.name })
        sections.append(TextTable(header: ["DTYPE", "TENSORS", "SIZE"], rows: dtypeTotals, rightAligned: [1, 2]).text)
        if model.shards.count > 1 {
            let fileTotals = totals(by: { self.model.shards[$0.shard].relativeName }, keepingOrder: model.shards.map(\.relativeName))
            sections.append(TextTable(header: ["FILE", "TENSORS", "SIZE"], rows: fileTotals, rightAligned: [1, 2]).text)
        }
        if !model.companions.isEmpty {
            let rows = model.companions.map { [escapedForOneLine($0.relativePath), ByteCountText.format($0.source.size)] }
            sections.append(TextTable(header: ["COMPANION FILE", "SIZE"], rows: rows, rightAligned: [1]).text)
        }
        if !scales.isEmpty {
            sections.append(scales.table(of: listed, listingTensors: tensors))
        }
        sections.append(summary())
        return sections.joined(separator: "\n\n") + "\n"
    }

    /// `104 tensors, 90.9 MB (90856960 bytes) in 1 file; dtypes: F32 103, I64 1`, counting the
    /// tensors that match the query.
    public func summary() -> String {
        let bytes = matches.reduce(UInt64(0)) { $0 &+ $1.info.byteCount }
        let histogram = matches.dtypeHistogram().map { "\($0.dtype.name) \($0.count)" }.joined(separator: ", ")
        let files = model.shards.count == 1 ? "1 file" : "\(model.shards.count) files"
        let subset = matches.count == model.tensors.count ? "" : " (of \(model.tensors.count))"
        return "\(matches.count) tensors\(subset), \(ByteCountText.format(bytes)) (\(bytes) bytes) in \(files); dtypes: \(histogram.isEmpty ? "none" : histogram)"
    }

    /// Rows of `[key, tensor count, size]` over the matching tensors, largest first unless an
    /// order of keys is given.
    private func totals(by key: (ModelTensor) -> String, keepingOrder order: [String]? = nil) -> [[String]] {
        var sums: [String: (count: Int, bytes: UInt64)] = [:]
        for tensor in matches {
            sums[key(tensor), default: (0, 0)].count += 1
            sums[key(tensor), default: (0, 0)].bytes &+= tensor.info.byteCount
        }
        let keys = order?.filter { sums[$0] != nil } ?? sums.keys.sorted { (sums[$1]!.bytes, $0) < (sums[$0]!.bytes, $1) }
        return keys.map { [escapedForOneLine($0), String(sums[$0]!.count), ByteCountText.format(sums[$0]!.bytes)] }
    }
}

/// Columns padded to their widest cell.
struct TextTable {
    let header: [String]
    let rows: [[String]]
    /// Columns whose cells line up on the right (numbers).
    let rightAligned: Set<Int>

    var text: String {
        var widths = header.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        return ([header] + rows).map { row in
            row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? padding + cell : cell + padding
            }.joined(separator: "  ").trimmingSuffixSpaces()
        }.joined(separator: "\n")
    }
}

private extension String {
    func trimmingSuffixSpaces() -> String {
        var text = Substring(self)
        while text.last == " " { text.removeLast() }
        return String(text)
    }
}

/// Byte counts as people read them: `1.5 MB`, `812 B`.
enum ByteCountText {
    static func format(_ bytes: UInt64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB", "PB", "EB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        if unit == 0 { return "\(bytes) B" }
        return "\((value * 10).rounded() / 10) \(units[unit])"
    }
}
