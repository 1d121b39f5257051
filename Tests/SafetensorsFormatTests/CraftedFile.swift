import Testing
import SafetensorsFormat

/// A safetensors file assembled in memory: the 8-byte little-endian header length, the header
/// text, then the data bytes.
struct CraftedFile: CustomTestStringConvertible {
    /// The name every crafted file is parsed under; error descriptions must start with it.
    static let name = "crafted/model.safetensors"

    /// The whole file.
    var bytes: [UInt8]

    /// A file with `header` as its header text and `dataCount` bytes of data.
    init(_ header: String, dataCount: Int = 0) {
        self.init(headerBytes: Array(header.utf8), dataCount: dataCount)
    }

    /// A file with arbitrary header bytes; `declaredLength` overrides the length in the prefix.
    init(headerBytes: [UInt8], dataCount: Int = 0, declaredLength: UInt64? = nil) {
        let length = declaredLength ?? UInt64(headerBytes.count)
        bytes = withUnsafeBytes(of: length.littleEndian) { Array($0) }
        bytes += headerBytes
        bytes += (0..<dataCount).map { UInt8(truncatingIfNeeded: $0 &* 37) }
    }

    /// A file of exactly these bytes.
    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Reads the file as tensorfs does.
    func parse() throws(SafetensorsError) -> SafetensorsHeader {
        try withBytes(of: bytes) { buffer throws(SafetensorsError) in
            try SafetensorsHeader(fileBytes: buffer, file: CraftedFile.name)
        }
    }

    var testDescription: String {
        let header = bytes.dropFirst(8).prefix(120)
        return String(decoding: header, as: UTF8.self).debugDescription
    }
}

/// Runs `body` over the bytes of `array`, passing its typed error through.
func withBytes<T>(
    of array: [UInt8],
    _ body: (UnsafeRawBufferPointer) throws(SafetensorsError) -> T
) throws(SafetensorsError) -> T {
    var result: Result<T, SafetensorsError>!
    array.withUnsafeBytes { buffer in
        result = Result { () throws(SafetensorsError) in try body(buffer) }
    }
    return try result.get()
}

/// The JSON text of one tensor entry, `"name": {...}`; `name` is JSON string content, escapes included.
func tensor(_ name: String, _ dtype: String, _ shape: [UInt64], _ begin: UInt64, _ end: UInt64) -> String {
    let extents = shape.map(String.init).joined(separator: ",")
    return #""\#(name)":{"dtype":"\#(dtype)","shape":[\#(extents)],"data_offsets":[\#(begin),\#(end)]}"#
}

/// A one-tensor file whose entry holds `fields` verbatim, with `dataCount` bytes of data.
func entryFile(_ fields: String, dataCount: Int = 4) -> CraftedFile {
    CraftedFile(#"{"t":{\#(fields)}}"#, dataCount: dataCount)
}

/// A valid file with a zero-size tensor `t` whose entry also holds the field `"x": value`.
func extraFieldFile(_ value: String) -> CraftedFile {
    CraftedFile(#"{"t":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"x":\#(value)}}"#)
}

/// Parses `file`, recording an issue unless it is accepted.
@discardableResult
func acceptance(of file: CraftedFile, sourceLocation: SourceLocation = #_sourceLocation) -> SafetensorsHeader? {
    do {
        return try file.parse()
    } catch {
        Issue.record("expected the file to be accepted, but: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Parses `file`, recording an issue unless it is rejected with a one-line description that
/// starts with the file's name; returns the problem found.
func rejection(of file: CraftedFile, sourceLocation: SourceLocation = #_sourceLocation) -> SafetensorsError.Problem? {
    do {
        let header = try file.parse()
        Issue.record("expected the file to be rejected, but it has \(header.tensors.count) tensors", sourceLocation: sourceLocation)
        return nil
    } catch {
        expectOneLine(error, file: CraftedFile.name, sourceLocation: sourceLocation)
        return error.problem
    }
}

/// Checks that `error` describes itself on one line that starts with `file`.
func expectOneLine(_ error: SafetensorsError, file: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let text = error.description
    #expect(text.hasPrefix("\(file): "), "\(text)", sourceLocation: sourceLocation)
    let isOneLine = !text.contains { $0.isNewline }
    #expect(isOneLine, "\(text.debugDescription)", sourceLocation: sourceLocation)
}

/// The case of a problem without its associated values, so that a test can name the rule broken.
enum ProblemKind: Hashable {
    case fileTooShort, headerTooLarge, headerPastEndOfFile, invalidUTF8, invalidJSON
    case invalidTensorEntry, unknownDType, invalidMetadata, duplicateTensor, misplacedTensor
    case tensorEndsBeforeItBegins, shapeOverflow, partialByte, sizeMismatch, dataSizeMismatch
    case invalidIndex, invalidConfig
}

extension SafetensorsError.Problem {
    var kind: ProblemKind {
        switch self {
        case .fileTooShort: .fileTooShort
        case .headerTooLarge: .headerTooLarge
        case .headerPastEndOfFile: .headerPastEndOfFile
        case .invalidUTF8: .invalidUTF8
        case .invalidJSON: .invalidJSON
        case .invalidTensorEntry: .invalidTensorEntry
        case .unknownDType: .unknownDType
        case .invalidMetadata: .invalidMetadata
        case .duplicateTensor: .duplicateTensor
        case .misplacedTensor: .misplacedTensor
        case .tensorEndsBeforeItBegins: .tensorEndsBeforeItBegins
        case .shapeOverflow: .shapeOverflow
        case .partialByte: .partialByte
        case .sizeMismatch: .sizeMismatch
        case .dataSizeMismatch: .dataSizeMismatch
        case .invalidIndex: .invalidIndex
        case .invalidConfig: .invalidConfig
        }
    }
}
