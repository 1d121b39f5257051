/// The raw span of a JSON string literal, between (not including) its quotes.
struct JSONStringSpan {
    var start: Int
    var end: Int
    /// Whether the literal holds backslash escapes, so that its bytes differ from its value.
    var hasEscapes: Bool
}

/// A forward-only scanner over JSON text that accepts exactly what serde_json (as used by the
/// reference safetensors reader) accepts: strict RFC 8259 grammar, validated `\u` escapes,
/// floats that must be finite, and at most 127 levels of nesting.
///
/// The text must already be valid UTF-8.
struct JSONScanner {
    /// serde_json refuses the 128th nested array or object.
    static let maximumDepth = 127

    let text: UnsafeRawBufferPointer
    var position = 0

    init(text: UnsafeRawBufferPointer) {
        self.text = text
    }

    var isAtEnd: Bool { position >= text.count }

    /// The byte at the current position, or nil at the end.
    var current: UInt8? { position < text.count ? text[position] : nil }

    /// A syntax error at `offset`, by default the current position.
    func error(_ reason: String, at offset: Int? = nil) -> SafetensorsError.Problem {
        .invalidJSON(offset: offset ?? position, reason: reason)
    }

    mutating func skipWhitespace() {
        while position < text.count {
            switch text[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// Consumes `byte` after optional whitespace, or fails saying what was expected.
    mutating func expect(_ byte: UInt8, _ what: @autoclosure () -> String) throws(SafetensorsError.Problem) {
        skipWhitespace()
        guard current == byte else { throw error(unexpectedMessage(expected: what())) }
        position += 1
    }

    /// Consumes `byte` after optional whitespace if it is next; reports whether it was.
    mutating func consumeIfPresent(_ byte: UInt8) -> Bool {
        skipWhitespace()
        if current == byte {
            position += 1
            return true
        }
        return false
    }

    func unexpectedMessage(expected what: String) -> String {
        guard let byte = current else { return "expected \(what) but the JSON ended" }
        if byte >= 0x20 && byte < 0x7F {
            return "expected \(what) but found '\(Character(Unicode.Scalar(byte)))'"
        }
        return "expected \(what) but found byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    // MARK: Strings

    /// Consumes a string literal (after optional whitespace) and returns its span.
    mutating func scanString() throws(SafetensorsError.Problem) -> JSONStringSpan {
        skipWhitespace()
        guard current == UInt8(ascii: "\"") else { throw error(unexpectedMessage(expected: "a string")) }
        position += 1
        let start = position
        var hasEscapes = false
        while true {
            // Jump to the next quote, backslash or control byte, eight bytes at a time.
            while position + 8 <= text.count {
                let found = JSONScanner.specialBytes(in: text.loadUnaligned(fromByteOffset: position, as: UInt64.self))
                if found != 0 {
                    position += found.trailingZeroBitCount / 8
                    break
                }
                position += 8
            }
            guard position < text.count else { throw error("unterminated string", at: start - 1) }
            let byte = text[position]
            if byte == UInt8(ascii: "\"") {
                let span = JSONStringSpan(start: start, end: position, hasEscapes: hasEscapes)
                position += 1
                return span
            }
            if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                try skipEscape()
            } else if byte < 0x20 {
                throw error("control character in a string")
            } else {
                position += 1
            }
        }
    }

    /// The high bit of each byte of `word` (read little-endian) that is `"`, `\` or below 0x20,
    /// and possibly of bytes after the first such byte: the lowest set bit marks the first one.
    /// (The classic bit tricks for a zero byte, or a byte below a bound, in every lane at once;
    /// a borrow can only mark lanes above a true match.)
    static func specialBytes(in word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let control = (word &- ones &* 0x20) & ~word
        let zeroQuote = (quotes &- ones) & ~quotes
        let zeroBackslash = (backslashes &- ones) & ~backslashes
        return (control | zeroQuote | zeroBackslash) & highBits
    }

    /// Validates the escape at the current backslash and moves past it.
    private mutating func skipEscape() throws(SafetensorsError.Problem) {
        let escapeStart = position
        position += 1
        guard position < text.count else { throw error("unterminated escape", at: escapeStart) }
        switch text[position] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 1
        case UInt8(ascii: "u"):
            position += 1
            _ = try scanUnicodeEscapeTail(escapeStart: escapeStart)
        default:
            throw error("invalid escape", at: escapeStart)
        }
    }

    /// Reads the four hex digits after `\u` (and a low surrogate's escape after a high one),
    /// returning the scalar they encode.
    private mutating func scanUnicodeEscapeTail(escapeStart: Int) throws(SafetensorsError.Problem) -> Unicode.Scalar {
        let first = try scanHexQuad(escapeStart: escapeStart)
        switch first {
        case 0xD800...0xDBFF:
            guard position + 1 < text.count, text[position] == UInt8(ascii: "\\"),
                  text[position + 1] == UInt8(ascii: "u") else {
                throw error("lone leading surrogate in a \\u escape", at: escapeStart)
            }
            position += 2
            let second = try scanHexQuad(escapeStart: escapeStart)
            guard (0xDC00...0xDFFF).contains(second) else {
                throw error("invalid surrogate pair in a \\u escape", at: escapeStart)
            }
            let value = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            return Unicode.Scalar(value)!
        case 0xDC00...0xDFFF:
            throw error("lone trailing surrogate in a \\u escape", at: escapeStart)
        default:
            return Unicode.Scalar(first)!
        }
    }

    private mutating func scanHexQuad(escapeStart: Int) throws(SafetensorsError.Problem) -> UInt32 {
        guard position + 4 <= text.count else { throw error("truncated \\u escape", at: escapeStart) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = text[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("invalid hex digit in a \\u escape", at: escapeStart)
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// The raw bytes of a scanned string literal, escapes undecoded.
    func bytes(_ span: JSONStringSpan) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: text[span.start..<span.end])
    }

    /// The value of a scanned string literal.
    func string(_ span: JSONStringSpan) -> String {
        let raw = UnsafeRawBufferPointer(rebasing: text[span.start..<span.end])
        guard span.hasEscapes else { return String(decoding: raw, as: UTF8.self) }
        var decoded = String.UnicodeScalarView()
        var reader = JSONScanner(text: raw)
        while let byte = reader.current {
            if byte != UInt8(ascii: "\\") {
                // Copy the run up to the next escape in one step.
                let runStart = reader.position
                while let next = reader.current, next != UInt8(ascii: "\\") { reader.position += 1 }
                let run = UnsafeRawBufferPointer(rebasing: raw[runStart..<reader.position])
                decoded.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
                continue
            }
            let escapeStart = reader.position
            reader.position += 1
            let kind = raw[reader.position]
            reader.position += 1
            switch kind {
            case UInt8(ascii: "b"): decoded.append("\u{08}")
            case UInt8(ascii: "f"): decoded.append("\u{0C}")
            case UInt8(ascii: "n"): decoded.append("\n")
            case UInt8(ascii: "r"): decoded.append("\r")
            case UInt8(ascii: "t"): decoded.append("\t")
            case UInt8(ascii: "u"):
                // Already validated by scanString, so this cannot fail.
                if let scalar = try? reader.scanUnicodeEscapeTail(escapeStart: escapeStart) {
                    decoded.append(scalar)
                }
            default: decoded.append(Unicode.Scalar(kind))
            }
        }
        return String(decoded)
    }

    /// Whether a scanned string literal's value is exactly `literal` (an ASCII key).
    func string(_ span: JSONStringSpan, equals literal: StaticString) -> Bool {
        if span.hasEscapes { return string(span) == literal.description }
        let raw = UnsafeRawBufferPointer(rebasing: text[span.start..<span.end])
        return literal.withUTF8Buffer { raw.hasSameBytes(as: UnsafeRawBufferPointer($0)) }
    }

    // MARK: Numbers

    /// Consumes a number that must be a non-negative integer of at most 64 bits, as the
    /// reference requires for shapes and offsets.
    mutating func scanUnsignedInteger(_ what: @autoclosure () -> String) throws(SafetensorsError.Problem) -> UInt64 {
        skipWhitespace()
        let start = position
        guard let first = current, first == UInt8(ascii: "-") || isDigit(first) else {
            throw error(unexpectedMessage(expected: what()))
        }
        let token = try scanNumberToken()
        if token.isNegative { throw error("\(what()) is negative", at: start) }
        if token.isFloat { throw error("\(what()) is not an integer", at: start) }
        var value: UInt64 = 0
        for index in start..<position {
            let digit = UInt64(text[index] - UInt8(ascii: "0"))
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(digit)
            if o1 || o2 { throw error("\(what()) exceeds 2^64-1", at: start) }
            value = sum
        }
        return value
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// Consumes a number per the JSON grammar, reporting its sign and whether it has a
    /// fraction or exponent.
    mutating func scanNumberToken() throws(SafetensorsError.Problem) -> (isNegative: Bool, isFloat: Bool) {
        let start = position
        var isNegative = false
        var isFloat = false
        if current == UInt8(ascii: "-") {
            isNegative = true
            position += 1
        }
        guard let lead = current, isDigit(lead) else { throw error("invalid number", at: start) }
        position += 1
        if lead == UInt8(ascii: "0") {
            if let next = current, isDigit(next) { throw error("number with a leading zero", at: start) }
        } else {
            while let next = current, isDigit(next) { position += 1 }
        }
        if current == UInt8(ascii: ".") {
            isFloat = true
            position += 1
            guard let next = current, isDigit(next) else { throw error("invalid number", at: start) }
            while let next = current, isDigit(next) { position += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isFloat = true
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard let next = current, isDigit(next) else { throw error("invalid number", at: start) }
            while let next = current, isDigit(next) { position += 1 }
        }
        return (isNegative, isFloat)
    }

    /// Consumes any number; like serde_json, refuses one whose value it cannot hold as a
    /// finite double, judged by serde_json's own conversion (see `SerdeNumber`).
    private mutating func skipNumber() throws(SafetensorsError.Problem) {
        let start = position
        let token = try scanNumberToken()
        // Integers of up to 19 characters fit in 64 bits, the common case.
        if !token.isFloat && position - start <= 19 { return }
        if SerdeNumber.isOutOfRange(UnsafeRawBufferPointer(rebasing: text[start..<position])) {
            throw error("number out of range", at: start)
        }
    }

    // MARK: Any value

    /// Consumes any JSON value whose opening bracket would sit at nesting level `depth`.
    mutating func skipValue(depth: Int) throws(SafetensorsError.Problem) {
        skipWhitespace()
        guard let byte = current else { throw error("expected a value but the JSON ended") }
        switch byte {
        case UInt8(ascii: "{"):
            try checkDepth(depth)
            position += 1
            if consumeIfPresent(UInt8(ascii: "}")) { return }
            repeat {
                _ = try scanString()
                try expect(UInt8(ascii: ":"), "':'")
                try skipValue(depth: depth + 1)
            } while try consumeSeparator(closing: UInt8(ascii: "}"), "',' or '}'")
        case UInt8(ascii: "["):
            try checkDepth(depth)
            position += 1
            if consumeIfPresent(UInt8(ascii: "]")) { return }
            repeat {
                try skipValue(depth: depth + 1)
            } while try consumeSeparator(closing: UInt8(ascii: "]"), "',' or ']'")
        case UInt8(ascii: "\""):
            _ = try scanString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try skipNumber()
        case UInt8(ascii: "t"): try expectLiteral("true")
        case UInt8(ascii: "f"): try expectLiteral("false")
        case UInt8(ascii: "n"): try expectLiteral("null")
        default:
            throw error(unexpectedMessage(expected: "a value"))
        }
    }

    func checkDepth(_ depth: Int) throws(SafetensorsError.Problem) {
        if depth > JSONScanner.maximumDepth { throw error("nesting deeper than \(JSONScanner.maximumDepth) levels") }
    }

    /// After an element: consumes ',' and returns true, or consumes `closing` and returns false.
    mutating func consumeSeparator(closing: UInt8, _ what: String) throws(SafetensorsError.Problem) -> Bool {
        skipWhitespace()
        switch current {
        case UInt8(ascii: ","):
            position += 1
            return true
        case closing:
            position += 1
            return false
        default:
            throw error(unexpectedMessage(expected: what))
        }
    }

    /// Consumes the keyword `literal` if it is next; reports whether it was.
    mutating func consumeLiteral(_ literal: StaticString) -> Bool {
        skipWhitespace()
        let length = literal.utf8CodeUnitCount
        guard position + length <= text.count else { return false }
        let matches = literal.withUTF8Buffer {
            UnsafeRawBufferPointer(rebasing: text[position..<position + length]).elementsEqual($0)
        }
        if matches { position += length }
        return matches
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(SafetensorsError.Problem) {
        guard consumeLiteral(literal) else { throw error("invalid literal") }
    }
}
