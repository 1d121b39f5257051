import SafetensorsFormat

/// What `tensorfs inspect` prints about a model: a table for people, JSON for scripts.
public struct InspectReport {
    /// The model described.
    public let model: LogicalModel

    /// A report on `model`.
    public init(model: LogicalModel) {
        self.model = model
    }

    /// `{"metadata": {...}, "tensors": [{"name", "dtype", "shape", "data_offsets", "file"}, ...]}`,
    /// tensors in file order, offsets relative to each file's data buffer.
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
        for (position, tensor) in model.tensors.enumerated() {
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
            writer.raw("}")
        }
        writer.raw(model.tensors.isEmpty ? "]}\n" : "\n]}\n")
        return writer.bytes
    }

    /// A table of tensors (name, dtype, shape, size) sorted by name, then a summary line.
    public func table() -> String {
        let rows = model.tensors
            .sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
            .map { [printable($0.name), $0.info.dtype.name, "[" + $0.info.shape.map(String.init).joined(separator: ", ") + "]", ByteCountText.format($0.info.byteCount)] }
        let header = ["NAME", "DTYPE", "SHAPE", "SIZE"]
        var widths = header.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        var lines: [String] = []
        for row in [header] + rows {
            var line = ""
            for (column, cell) in row.enumerated() {
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                line += column == 3 ? padding + cell : cell + padding + "  "
            }
            lines.append(line)
        }
        lines.append(summary())
        return lines.joined(separator: "\n") + "\n"
    }

    /// `104 tensors, 90.9 MB (90868224 bytes) in 1 file; dtypes: F32 103, I64 1`
    public func summary() -> String {
        let histogram = MetadataFile.dtypeHistogram(of: model).map { "\($0.0.name) \($0.1)" }.joined(separator: ", ")
        let bytes = model.totalTensorBytes
        let files = model.shards.count == 1 ? "1 file" : "\(model.shards.count) files"
        return "\(model.tensors.count) tensors, \(ByteCountText.format(bytes)) (\(bytes) bytes) in \(files); dtypes: \(histogram.isEmpty ? "none" : histogram)"
    }

    /// A name with control characters escaped, so that each row stays one line.
    private func printable(_ name: String) -> String {
        name.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? $0.escaped(asASCII: true) : String($0) }.joined()
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
        let tenths = (value * 10).rounded() / 10
        return "\(tenths) \(units[unit])"
    }
}
