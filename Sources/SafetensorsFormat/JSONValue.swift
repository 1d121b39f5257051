/// A JSON document as values, for the small documents of web APIs (a model hub's listings):
/// parsed by the same strict scanner as safetensors headers. Numbers keep their text, so that
/// sizes past 2^53 stay exact.
public enum JSONValue: Sendable, Hashable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    /// A number, as written.
    case number(String)
    case bool(Bool)
    case null

    /// Why text is not one JSON value.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        /// What is wrong and at which byte.
        public var description: String
    }

    /// Parses `text`, which must be one JSON value (UTF-8); the error says where it is malformed.
    public init(parsing text: UnsafeRawBufferPointer) throws(ParseError) {
        if let offset = firstInvalidUTF8Offset(in: text) {
            throw ParseError(description: "not valid UTF-8 (at byte \(offset))")
        }
        var scanner = JSONScanner(text: text)
        do throws(SafetensorsError.Problem) {
            self = try Self.value(&scanner, depth: 0)
            scanner.skipWhitespace()
            guard scanner.isAtEnd else { throw scanner.error("text after the JSON value") }
        } catch {
            guard case .invalidJSON(let offset, let reason) = error else { throw ParseError(description: "not valid JSON: \(error)") }
            throw ParseError(description: "not valid JSON: \(reason) (at byte \(offset))")
        }
    }

    /// Parses the bytes of `text`.
    public init(parsing text: [UInt8]) throws(ParseError) {
        self = try text.withUnsafeBufferPointer { (bytes) throws(ParseError) -> JSONValue in try JSONValue(parsing: UnsafeRawBufferPointer(bytes)) }
    }

    /// The member `key` of an object; nil for other values and absent members.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The string, if this is one.
    public var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The elements, if this is an array.
    public var array: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The number as an unsigned 64-bit integer, if it is one.
    public var unsignedInteger: UInt64? {
        if case .number(let text) = self { return UInt64(text) }
        return nil
    }

    private static func value(_ scanner: inout JSONScanner, depth: Int) throws(SafetensorsError.Problem) -> JSONValue {
        scanner.skipWhitespace()
        guard let byte = scanner.current else { throw scanner.error("expected a value but the JSON ended") }
        switch byte {
        case UInt8(ascii: "{"):
            try scanner.checkDepth(depth)
            scanner.position += 1
            var members: [String: JSONValue] = [:]
            if scanner.consumeIfPresent(UInt8(ascii: "}")) { return .object(members) }
            repeat {
                let key = scanner.string(try scanner.scanString())
                try scanner.expect(UInt8(ascii: ":"), "':'")
                members[key] = try value(&scanner, depth: depth + 1)
            } while try scanner.consumeSeparator(closing: UInt8(ascii: "}"), "',' or '}'")
            return .object(members)
        case UInt8(ascii: "["):
            try scanner.checkDepth(depth)
            scanner.position += 1
            var elements: [JSONValue] = []
            if scanner.consumeIfPresent(UInt8(ascii: "]")) { return .array(elements) }
            repeat {
                elements.append(try value(&scanner, depth: depth + 1))
            } while try scanner.consumeSeparator(closing: UInt8(ascii: "]"), "',' or ']'")
            return .array(elements)
        case UInt8(ascii: "\""):
            return .string(scanner.string(try scanner.scanString()))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = scanner.position
            _ = try scanner.scanNumberToken()
            return .number(String(decoding: UnsafeRawBufferPointer(rebasing: scanner.text[start..<scanner.position]), as: UTF8.self))
        default:
            if scanner.consumeLiteral("true") { return .bool(true) }
            if scanner.consumeLiteral("false") { return .bool(false) }
            if scanner.consumeLiteral("null") { return .null }
            throw scanner.error(scanner.unexpectedMessage(expected: "a value"))
        }
    }
}
