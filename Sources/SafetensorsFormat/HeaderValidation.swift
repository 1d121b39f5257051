/// The layout rules of the data buffer (rules 6 to 8 of the format), applied to parsed entries.
enum HeaderValidation {
    /// Checks that names are unique, that tensors tile the data buffer from 0 without holes or
    /// overlaps, that each byte range matches its dtype and shape, and that the buffer ends
    /// exactly at the end of the file. Returns the tensors in data order.
    static func validate(
        _ entries: [HeaderParser.Entry],
        dataStart: UInt64,
        fileSize: UInt64
    ) throws(SafetensorsError.Problem) -> [TensorInfo] {
        try rejectDuplicateNames(entries)
        // Writers list tensors in data order: then that order stands, else sort (stably).
        func precedes(_ lhs: Int, _ rhs: Int) -> Bool {
            (entries[lhs].begin, entries[lhs].end, lhs) < (entries[rhs].begin, entries[rhs].end, rhs)
        }
        let inDataOrder = entries.indices.dropFirst().allSatisfy { precedes($0 - 1, $0) }
        let order = inDataOrder ? Array(entries.indices) : entries.indices.sorted(by: precedes)
        var tensors: [TensorInfo] = []
        tensors.reserveCapacity(entries.count)
        var expectedBegin: UInt64 = 0
        var previous: String?
        for index in order {
            let entry = entries[index]
            guard entry.begin == expectedBegin else {
                throw .misplacedTensor(tensor: entry.name, begin: entry.begin, previous: previous, previousEnd: expectedBegin)
            }
            guard entry.end >= entry.begin else {
                throw .tensorEndsBeforeItBegins(tensor: entry.name, begin: entry.begin, end: entry.end)
            }
            let info = TensorInfo(
                name: entry.name, dtype: entry.dtype, shape: entry.shape,
                dataOffsets: ByteRange(start: entry.begin, end: entry.end))
            try checkSize(of: info)
            tensors.append(info)
            expectedBegin = entry.end
            previous = entry.name
        }
        let (dataEnd, overflow) = dataStart.addingReportingOverflow(expectedBegin)
        guard !overflow, dataEnd == fileSize else {
            throw .dataSizeMismatch(dataEnd: overflow ? .max : dataEnd, fileSize: fileSize)
        }
        return tensors
    }

    private static func rejectDuplicateNames(_ entries: [HeaderParser.Entry]) throws(SafetensorsError.Problem) {
        // The names are already strings: a table of their numbers, keyed by hash, is enough.
        var seen = SlotTable(minimumCapacity: entries.count)
        for (number, entry) in entries.enumerated() {
            var name = entry.name
            let isRepeat = name.withUTF8 { bytes in
                let hash = NameHasher.hash(UnsafeRawBufferPointer(bytes))
                let earlier = seen.first(hash: hash) { candidate in
                    var other = entries[candidate].name
                    return other.withUTF8 { UnsafeRawBufferPointer($0).hasSameBytes(as: UnsafeRawBufferPointer(bytes)) }
                }
                seen.insert(number, hash: hash)
                return earlier != nil
            }
            if isRepeat { throw .duplicateTensor(name: entry.name) }
        }
    }

    private static func checkSize(of tensor: TensorInfo) throws(SafetensorsError.Problem) {
        guard let elements = tensor.elementCount else { throw .shapeOverflow(tensor: tensor.name) }
        let bitWidth = UInt64(tensor.dtype.bitsPerElement)
        let (bits, overflow) = elements.multipliedReportingOverflow(by: bitWidth)
        if overflow { throw .shapeOverflow(tensor: tensor.name) }
        if bits % 8 != 0 { throw .partialByte(tensor: tensor.name, dtype: tensor.dtype, elementCount: elements) }
        if bits / 8 != tensor.byteCount {
            throw .sizeMismatch(tensor: tensor.name, expected: bits / 8, actual: tensor.byteCount)
        }
    }
}
