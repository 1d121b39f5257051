/// The validated header of a safetensors file: its tensors, its metadata and where its data lies.
///
/// Reading is split in two steps so that callers choose their own I/O: decode the 8-byte
/// prefix to learn how much header to read, then parse that header.
public struct SafetensorsHeader: Hashable, Sendable {
    /// The largest header the reference reader accepts, in bytes.
    public static let maximumHeaderLength: UInt64 = 100_000_000
    /// The size of the little-endian header-length prefix.
    public static let prefixLength: UInt64 = 8

    /// The tensors, ordered by their position in the data buffer.
    public var tensors: [TensorInfo]
    /// The `__metadata__` pairs in the order written, or nil when absent or `null`.
    public var metadata: [MetadataEntry]?
    /// The length of the JSON header in bytes.
    public var headerLength: UInt64
    /// The size of the whole file.
    public var fileSize: UInt64

    /// The absolute file offset where the data buffer begins.
    public var dataStart: UInt64 { SafetensorsHeader.prefixLength + headerLength }

    /// Reads the header length from the first 8 bytes of a file of `fileSize` bytes and checks
    /// it against the format's limit and the file's size (rules 1 to 3).
    public static func headerLength(
        prefix: UnsafeRawBufferPointer,
        fileSize: UInt64,
        file: String
    ) throws(SafetensorsError) -> UInt64 {
        guard fileSize >= prefixLength, prefix.count >= Int(prefixLength) else {
            throw SafetensorsError(file: file, problem: .fileTooShort(size: fileSize))
        }
        let length = UInt64(littleEndian: prefix.loadUnaligned(as: UInt64.self))
        guard length <= maximumHeaderLength else {
            throw SafetensorsError(file: file, problem: .headerTooLarge(length: length, limit: maximumHeaderLength))
        }
        guard length <= fileSize - prefixLength else {
            throw SafetensorsError(file: file, problem: .headerPastEndOfFile(length: length, fileSize: fileSize))
        }
        return length
    }

    /// Parses and validates the JSON header `json` of a file of `fileSize` bytes (rules 4 to 8).
    public init(json: UnsafeRawBufferPointer, fileSize: UInt64, file: String) throws(SafetensorsError) {
        do throws(SafetensorsError.Problem) {
            let length = UInt64(json.count)
            if let offset = firstInvalidUTF8Offset(in: json) { throw SafetensorsError.Problem.invalidUTF8(offset: offset) }
            var parser = HeaderParser(json: json)
            let contents = try parser.parse()
            tensors = try HeaderValidation.validate(
                contents.entries, dataStart: SafetensorsHeader.prefixLength + length, fileSize: fileSize)
            metadata = contents.metadata
            headerLength = length
            self.fileSize = fileSize
        } catch let problem {
            throw SafetensorsError(file: file, problem: problem)
        }
    }

    /// Parses a whole safetensors file held in memory (a mapping or a buffer).
    public init(fileBytes: UnsafeRawBufferPointer, file: String) throws(SafetensorsError) {
        let fileSize = UInt64(fileBytes.count)
        let length = try SafetensorsHeader.headerLength(prefix: fileBytes, fileSize: fileSize, file: file)
        let json = UnsafeRawBufferPointer(rebasing: fileBytes[8..<8 + Int(length)])
        try self.init(json: json, fileSize: fileSize, file: file)
    }

    /// The absolute file range of a tensor's bytes.
    public func fileRange(of tensor: TensorInfo) -> ByteRange {
        // Validation guarantees dataStart + end == at most fileSize, so this cannot overflow.
        ByteRange(start: dataStart + tensor.dataOffsets.start, end: dataStart + tensor.dataOffsets.end)
    }
}
