/// Reads the JSON text of a safetensors header into tensor descriptors and metadata,
/// accepting exactly the shape the reference reader accepts (rule 5 of the format).
struct HeaderParser {
    /// A tensor entry as written, before its offsets are checked.
    struct Entry {
        var name: String
        var dtype: DType
        var shape: [UInt64]
        var begin: UInt64
        var end: UInt64
    }

    /// What a header's JSON holds, in the order written.
    struct Contents {
        var entries: [Entry] = []
        var metadata: [MetadataEntry]?
    }

    private var scanner: JSONScanner

    init(json: UnsafeRawBufferPointer) {
        scanner = JSONScanner(text: json)
    }

    /// Parses the whole text: one object, optional whitespace around it, nothing else.
    mutating func parse() throws(SafetensorsError.Problem) -> Contents {
        var contents = Contents()
        var sawMetadata = false
        try scanner.expect(UInt8(ascii: "{"), "'{'")
        if !scanner.consumeIfPresent(UInt8(ascii: "}")) {
            repeat {
                let keyStart = scanner.position
                let key = try scanner.scanString()
                try scanner.expect(UInt8(ascii: ":"), "':'")
                if scanner.string(key, equals: "__metadata__") {
                    if sawMetadata { throw scanner.error("duplicate key `__metadata__`", at: keyStart) }
                    sawMetadata = true
                    contents.metadata = try parseMetadata()
                } else {
                    let name = scanner.string(key)
                    contents.entries.append(try parseTensorEntry(name: name))
                }
            } while try scanner.consumeSeparator(closing: UInt8(ascii: "}"), "',' or '}'")
        }
        scanner.skipWhitespace()
        if !scanner.isAtEnd { throw scanner.error("trailing characters after the header object") }
        return contents
    }

    /// `null`, or an object whose values are all strings. A repeated key keeps its last value.
    private mutating func parseMetadata() throws(SafetensorsError.Problem) -> [MetadataEntry]? {
        if scanner.consumeLiteral("null") { return nil }
        try scanner.expect(UInt8(ascii: "{"), "an object or null for __metadata__")
        var entries: [MetadataEntry] = []
        if scanner.consumeIfPresent(UInt8(ascii: "}")) { return entries }
        var positions: [Utf8Key: Int] = [:]
        repeat {
            let key = scanner.string(try scanner.scanString())
            try scanner.expect(UInt8(ascii: ":"), "':'")
            scanner.skipWhitespace()
            guard scanner.current == UInt8(ascii: "\"") else {
                throw .invalidMetadata(reason: "value of \(quoted(key)) is not a string")
            }
            let value = scanner.string(try scanner.scanString())
            if let existing = positions[Utf8Key(key)] {
                entries[existing].value = value
            } else {
                positions[Utf8Key(key)] = entries.count
                entries.append(MetadataEntry(key: key, value: value))
            }
        } while try scanner.consumeSeparator(closing: UInt8(ascii: "}"), "',' or '}'")
        return entries
    }

    private mutating func parseTensorEntry(name: String) throws(SafetensorsError.Problem) -> Entry {
        scanner.skipWhitespace()
        if scanner.current == UInt8(ascii: "[") { return try parseTensorArray(name: name) }
        guard scanner.current == UInt8(ascii: "{") else {
            throw .invalidTensorEntry(tensor: name, reason: "its entry is not an object")
        }
        try scanner.checkDepth(2)
        scanner.position += 1
        var dtype: DType?
        var shape: [UInt64]?
        var offsets: (UInt64, UInt64)?
        if !scanner.consumeIfPresent(UInt8(ascii: "}")) {
            repeat {
                let field = try scanner.scanString()
                try scanner.expect(UInt8(ascii: ":"), "':'")
                if scanner.string(field, equals: "dtype") {
                    if dtype != nil { throw duplicateField("dtype", of: name) }
                    dtype = try parseDType(tensor: name)
                } else if scanner.string(field, equals: "shape") {
                    if shape != nil { throw duplicateField("shape", of: name) }
                    shape = try parseShape(tensor: name)
                } else if scanner.string(field, equals: "data_offsets") {
                    if offsets != nil { throw duplicateField("data_offsets", of: name) }
                    offsets = try parseOffsets(tensor: name)
                } else {
                    try scanner.skipValue(depth: 3)
                }
            } while try scanner.consumeSeparator(closing: UInt8(ascii: "}"), "',' or '}'")
        }
        guard let dtype else { throw missingField("dtype", of: name) }
        guard let shape else { throw missingField("shape", of: name) }
        guard let offsets else { throw missingField("data_offsets", of: name) }
        return Entry(name: name, dtype: dtype, shape: shape, begin: offsets.0, end: offsets.1)
    }

    /// The entry written as `[dtype, shape, data_offsets]`: serde reads a struct from the
    /// sequence of its fields in declaration order, so the reference accepts this form too.
    private mutating func parseTensorArray(name: String) throws(SafetensorsError.Problem) -> Entry {
        try scanner.checkDepth(2)
        scanner.position += 1
        if scanner.consumeIfPresent(UInt8(ascii: "]")) { throw arrayLength(of: name) }
        let dtype = try parseDType(tensor: name)
        try expectNextArrayValue(of: name)
        let shape = try parseShape(tensor: name)
        try expectNextArrayValue(of: name)
        let offsets = try parseOffsets(tensor: name)
        if scanner.consumeIfPresent(UInt8(ascii: "]")) {
            return Entry(name: name, dtype: dtype, shape: shape, begin: offsets.0, end: offsets.1)
        }
        if scanner.current == UInt8(ascii: ",") { throw arrayLength(of: name) }
        throw scanner.error(scanner.unexpectedMessage(expected: "']'"))
    }

    private mutating func expectNextArrayValue(of tensor: String) throws(SafetensorsError.Problem) {
        if scanner.consumeIfPresent(UInt8(ascii: ",")) { return }
        if scanner.current == UInt8(ascii: "]") { throw arrayLength(of: tensor) }
        throw scanner.error(scanner.unexpectedMessage(expected: "','"))
    }

    /// A dtype is a string, or (as serde reads a unit enum variant) an object with the dtype
    /// as its single key and `null` as its value: `{"F32": null}`.
    private mutating func parseDType(tensor: String) throws(SafetensorsError.Problem) -> DType {
        scanner.skipWhitespace()
        guard scanner.current == UInt8(ascii: "{") else { return try parseDTypeName(tensor: tensor) }
        scanner.position += 1
        let singleKey = "its dtype, written as an object, must have a single key"
        if scanner.consumeIfPresent(UInt8(ascii: "}")) { throw .invalidTensorEntry(tensor: tensor, reason: singleKey) }
        let dtype = try parseDTypeName(tensor: tensor)
        try scanner.expect(UInt8(ascii: ":"), "':'")
        guard scanner.consumeLiteral("null") else {
            throw .invalidTensorEntry(tensor: tensor, reason: "its dtype, written as an object, must map the dtype to null")
        }
        guard scanner.consumeIfPresent(UInt8(ascii: "}")) else {
            if scanner.current == UInt8(ascii: ",") { throw .invalidTensorEntry(tensor: tensor, reason: singleKey) }
            throw scanner.error(scanner.unexpectedMessage(expected: "'}'"))
        }
        return dtype
    }

    private mutating func parseDTypeName(tensor: String) throws(SafetensorsError.Problem) -> DType {
        let span = try scanner.scanString()
        if !span.hasEscapes, let dtype = DType(utf8: scanner.bytes(span)) { return dtype }
        let text = scanner.string(span)
        guard let dtype = DType(rawValue: text) else {
            throw .unknownDType(tensor: tensor, dtype: text)
        }
        return dtype
    }

    private mutating func parseShape(tensor: String) throws(SafetensorsError.Problem) -> [UInt64] {
        try scanner.expect(UInt8(ascii: "["), "an array for the shape of \(quoted(tensor))")
        var shape: [UInt64] = []
        if scanner.consumeIfPresent(UInt8(ascii: "]")) { return shape }
        repeat {
            shape.append(try scanner.scanUnsignedInteger("a shape extent of \(quoted(tensor))"))
        } while try scanner.consumeSeparator(closing: UInt8(ascii: "]"), "',' or ']'")
        return shape
    }

    private mutating func parseOffsets(tensor: String) throws(SafetensorsError.Problem) -> (UInt64, UInt64) {
        try scanner.expect(UInt8(ascii: "["), "an array for the data_offsets of \(quoted(tensor))")
        let begin = try scanner.scanUnsignedInteger("a value of the data_offsets of \(quoted(tensor))")
        try scanner.expect(UInt8(ascii: ","), "two values in the data_offsets of \(quoted(tensor))")
        let end = try scanner.scanUnsignedInteger("a value of the data_offsets of \(quoted(tensor))")
        try scanner.expect(UInt8(ascii: "]"), "exactly two values in the data_offsets of \(quoted(tensor))")
        return (begin, end)
    }

    private func arrayLength(of tensor: String) -> SafetensorsError.Problem {
        .invalidTensorEntry(tensor: tensor, reason: "its entry, written as an array, must hold exactly dtype, shape and data_offsets")
    }

    private func duplicateField(_ field: String, of tensor: String) -> SafetensorsError.Problem {
        .invalidTensorEntry(tensor: tensor, reason: "field `\(field)` appears twice")
    }

    private func missingField(_ field: String, of tensor: String) -> SafetensorsError.Problem {
        .invalidTensorEntry(tensor: tensor, reason: "lacks the field `\(field)`")
    }
}
