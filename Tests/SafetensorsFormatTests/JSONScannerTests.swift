import Testing
import SafetensorsFormat

/// The JSON grammar of rule 5, as serde_json reads it for the reference: strict RFC 8259,
/// validated escapes, finite numbers, at most 127 levels of nesting. Each expectation here was
/// checked against safetensors 0.8.0.
@Suite("JSON grammar")
struct JSONScannerTests {
    static let tensorEntry = #""t":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}"#

    // MARK: Whitespace and what surrounds the object

    static let jsonWhitespace: [(String, String)] = [("space", " "), ("tab", "\t"), ("line feed", "\n"), ("carriage return", "\r")]

    @Test("JSON whitespace is accepted before, inside and after the object", arguments: jsonWhitespace)
    func whitespaceAccepted(label: String, space: String) {
        let w = String(repeating: space, count: 3)
        let header = #"\#(w){\#(w)"t"\#(w):\#(w){\#(w)"dtype"\#(w):\#(w)"U8"\#(w),"shape":\#(w)[\#(w)2\#(w)]\#(w),"data_offsets":[\#(w)0\#(w),\#(w)2\#(w)]\#(w)}\#(w)}\#(w)"#
        #expect(acceptance(of: CraftedFile(header, dataCount: 2))?.tensors.count == 1, "\(label)")
    }

    @Test("writers' space padding after the object is accepted")
    func spacePadding() {
        let header = "{" + JSONScannerTests.tensorEntry + "}"
        let padded = header + String(repeating: " ", count: 8 - header.utf8.count % 8)
        #expect(acceptance(of: CraftedFile(padded, dataCount: 2))?.headerLength == UInt64(padded.utf8.count))
    }

    static let notWhitespace: [(String, String)] = [
        ("form feed", "\u{0C}"), ("vertical tab", "\u{0B}"), ("no-break space", "\u{A0}"),
        ("line separator", "\u{2028}"), ("NUL", "\u{0}"),
    ]

    @Test("characters JSON does not count as whitespace are rejected around the object", arguments: notWhitespace)
    func otherSpaceRejected(label: String, space: String) {
        #expect(rejection(of: CraftedFile(space + "{}"))?.kind == .invalidJSON, "\(label) before")
        #expect(rejection(of: CraftedFile("{}" + space))?.kind == .invalidJSON, "\(label) after")
        #expect(rejection(of: CraftedFile("{" + space + "}"))?.kind == .invalidJSON, "\(label) inside")
    }

    @Test("a header padded with NUL bytes is rejected")
    func nulPadding() {
        let header = "{" + JSONScannerTests.tensorEntry + "}"
        #expect(rejection(of: CraftedFile(header + "\0\0\0\0\0", dataCount: 2))?.kind == .invalidJSON)
    }

    @Test("a header starting with a byte order mark is rejected")
    func byteOrderMark() {
        #expect(rejection(of: CraftedFile("\u{FEFF}{}"))?.kind == .invalidJSON)
    }

    static let garbageAfterObject = ["{}x", "{}{}", "{},", "{}}", "{}]", "{} 0", "{}//", "{}/* */", "{}\"\""]

    @Test("a header with trailing garbage is rejected", arguments: garbageAfterObject)
    func trailingGarbage(header: String) {
        #expect(rejection(of: CraftedFile(header))?.kind == .invalidJSON)
    }

    static let emptyHeaders = ["", " ", "\n\t\r "]

    @Test("an empty or blank header is rejected", arguments: emptyHeaders)
    func emptyHeader(header: String) {
        #expect(rejection(of: CraftedFile(header))?.kind == .invalidJSON)
    }

    static let notObjects = ["[]", "[{}]", "null", "true", "0", #""{}""#]

    @Test("a header that is JSON but not an object is rejected", arguments: notObjects)
    func notAnObject(header: String) {
        #expect(rejection(of: CraftedFile(header))?.kind == .invalidJSON)
    }

    static let notJSON = [
        "{", "}", #"{"t"}"#, #"{"t" {}}"#, #"{t:{}}"#, #"{'t':{}}"#,
        #"{"t":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},}"#,
        #"{"t":{"dtype":"U8","shape":[2,],"data_offsets":[0,2]}}"#,
        #"{"t":{"dtype":"U8","shape":[2],"data_offsets":[0,2],}}"#,
        #"{"t":{"dtype":"U8" "shape":[2],"data_offsets":[0,2]}}"#,
        #"{"t":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}"#,
        #"{"t":{"dtype":"U8","shape":[2],"data_offsets":[0,2"#,
        #"{"t":{"dtype":"U8"#,
    ]

    @Test("malformed JSON is rejected", arguments: notJSON)
    func malformed(header: String) {
        #expect(rejection(of: CraftedFile(header, dataCount: 2))?.kind == .invalidJSON)
    }

    // MARK: Nesting

    /// A header whose deepest bracket sits at `depth` levels: the object (1), the tensor entry
    /// (2), then an unknown field nested `depth - 2` deep.
    private func nested(depth: Int, arrays: Bool) -> CraftedFile {
        let inner = depth - 2
        let value = arrays
            ? String(repeating: "[", count: inner) + String(repeating: "]", count: inner)
            : String(repeating: #"{"a":"#, count: inner) + "1" + String(repeating: "}", count: inner)
        return extraFieldFile(value)
    }

    @Test("127 levels of nesting are accepted, as serde_json allows", arguments: [false, true])
    func nesting127(arrays: Bool) {
        acceptance(of: nested(depth: 127, arrays: arrays))
        acceptance(of: nested(depth: 126, arrays: arrays))
    }

    @Test("128 levels of nesting are rejected, as serde_json refuses them", arguments: [false, true])
    func nesting128(arrays: Bool) {
        #expect(rejection(of: nested(depth: 128, arrays: arrays))?.kind == .invalidJSON)
        #expect(rejection(of: nested(depth: 10_000, arrays: arrays))?.kind == .invalidJSON)
    }

    // MARK: Numbers in fields the reader ignores

    static let acceptedNumbers = [
        "0", "-0", "-0.0", "1.5", "-1.5E+3", "1e-400", "-1e-400", "0e400", "0e99999999999",
        "0.0e2147483648", "1e-2147483649", "18446744073709551615", "18446744073709551616",
        "-9223372036854775808", "-9223372036854775809", "123456789012345678901234567890",
        "1e308", "1.7976931348623157e308", "0.1e309",
        // 309 digits: serde_json keeps 20 of them and scales by 1e289, which stays finite.
        "1797693134862315" + String(repeating: "0", count: 293),
    ]

    @Test("numbers serde_json can hold are accepted in unknown fields", arguments: acceptedNumbers)
    func numberAccepted(literal: String) {
        acceptance(of: extraFieldFile(literal))
    }

    static let outOfRangeNumbers = [
        "1e400", "-1e400", "10e308", "1e309", "1e2147483648", "1" + String(repeating: "0", count: 309),
        // serde_json's own rounding refuses these, though a correctly rounded parse gives the
        // largest finite double.
        "1.7976931348623158e308", "-1.7976931348623158e308", "17976931348623158e292",
        "17976931348623157" + String(repeating: "0", count: 292),
    ]

    @Test("numbers beyond serde_json's finite range are rejected, even in unknown fields", arguments: outOfRangeNumbers)
    func numberOutOfRange(literal: String) {
        #expect(rejection(of: extraFieldFile(literal))?.kind == .invalidJSON)
    }

    static let malformedNumbers = ["01", "-01", "00", "-", "+1", "1.", ".5", "1.e3", "1e", "1e+", "0x10", "NaN", "Infinity", "-Infinity", "1_000"]

    @Test("malformed numbers are rejected", arguments: malformedNumbers)
    func numberMalformed(literal: String) {
        #expect(rejection(of: extraFieldFile(literal))?.kind == .invalidJSON)
    }

    // MARK: Literals

    @Test("true, false and null are accepted in unknown fields", arguments: ["true", "false", "null", "[true,false,null]"])
    func literalAccepted(literal: String) {
        acceptance(of: extraFieldFile(literal))
    }

    @Test("misspelled literals are rejected", arguments: ["True", "nul", "nulll", "fals", "undefined", "'s'"])
    func literalMalformed(literal: String) {
        #expect(rejection(of: extraFieldFile(literal))?.kind == .invalidJSON)
    }

    // MARK: Strings

    /// A file with one zero-size tensor named by the JSON string content `name`.
    private func named(_ name: String) -> CraftedFile {
        CraftedFile("{" + tensor(name, "U8", [0], 0, 0) + "}")
    }

    static let escapes: [(String, String)] = [
        (#"\""#, "\""), (#"\\"#, "\\"), (#"\/"#, "/"), (#"\b"#, "\u{08}"), (#"\f"#, "\u{0C}"),
        (#"\n"#, "\n"), (#"\r"#, "\r"), (#"\t"#, "\t"), (#"\u0041"#, "A"), (#"\u00e9"#, "é"),
        (#"\u00C9"#, "É"), (#"\u0000"#, "\u{0}"), (#"\u001f"#, "\u{1F}"), (#"\uFFFF"#, "\u{FFFF}"),
        (#"\ud83d\ude00"#, "😀"), (#"\uDBFF\uDFFF"#, "\u{10FFFF}"),
    ]

    @Test("every JSON escape is decoded", arguments: escapes)
    func escapeDecoded(escape: String, value: String) throws {
        let header = try #require(acceptance(of: named("<" + escape + ">")))
        #expect(Array(header.tensors[0].name.unicodeScalars) == Array(("<" + value + ">").unicodeScalars))
    }

    static let invalidEscapes = [#"\x41"#, #"\a"#, #"\'"#, #"\U0041"#, #"\u12"#, #"\u12G4"#, #"\"#, #"\ "#]

    @Test("unknown or incomplete escapes are rejected", arguments: invalidEscapes)
    func escapeInvalid(escape: String) {
        #expect(rejection(of: named("a" + escape))?.kind == .invalidJSON)
    }

    static let loneSurrogates = [
        #"\ud800"#, #"a\ud800b"#, #"\ud800\n"#, #"\ud800\u0041"#, #"\ud800\ud800"#,
        #"\udc00"#, #"\udfff\ud800"#, #"\ude00\ud83d"#, #"\uDBFF"#,
    ]

    @Test("lone surrogates in \\u escapes are rejected", arguments: loneSurrogates)
    func loneSurrogate(escape: String) {
        #expect(rejection(of: named(escape))?.kind == .invalidJSON)
    }

    @Test("a lone surrogate is rejected in metadata and in unknown fields too")
    func loneSurrogateElsewhere() {
        #expect(rejection(of: CraftedFile(#"{"__metadata__":{"k":"\udc00"}}"#))?.kind == .invalidJSON)
        #expect(rejection(of: extraFieldFile(#""\ud800""#))?.kind == .invalidJSON)
        #expect(rejection(of: extraFieldFile(#"{"\ud800":1}"#))?.kind == .invalidJSON)
    }

    @Test("raw control characters in a string are rejected", arguments: [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1B, 0x1F] as [UInt8])
    func controlCharacter(byte: UInt8) {
        let name = "a" + String(Unicode.Scalar(byte)) + "b"
        #expect(rejection(of: named(name))?.kind == .invalidJSON)
        #expect(rejection(of: CraftedFile(#"{"__metadata__":{"k":"\#(name)"}}"#))?.kind == .invalidJSON)
        #expect(rejection(of: extraFieldFile("\"\(name)\""))?.kind == .invalidJSON)
    }

    @Test("DEL and other non-control characters are allowed raw in a string")
    func deleteIsNotControl() {
        #expect(acceptance(of: named("a\u{7F}b"))?.tensors[0].name == "a\u{7F}b")
        #expect(acceptance(of: named("a\u{85}\u{2028}b"))?.tensors[0].name == "a\u{85}\u{2028}b")
    }

    @Test("an unterminated string is rejected")
    func unterminatedString() {
        #expect(rejection(of: CraftedFile(#"{"t"#))?.kind == .invalidJSON)
        #expect(rejection(of: CraftedFile(#"{"t\"}"#))?.kind == .invalidJSON)
    }

    // MARK: Keys

    @Test("keys are compared after decoding escapes")
    func escapedKeys() throws {
        let file = CraftedFile(
            #"{"__metadata\u005f_":{"k":"v"},"t":{"dty\u0070e":"U8","\u0073hape":[2],"data_offset\u0073":[0,2]}}"#,
            dataCount: 2)
        let header = try #require(acceptance(of: file))
        #expect(header.metadata == [MetadataEntry(key: "k", value: "v")])
        #expect(header.tensors.map(\.name) == ["t"])
    }

    @Test("an escaped key that repeats a field is a duplicate")
    func escapedDuplicateField() {
        let file = entryFile(#""dtype":"U8","dty\u0070e":"U8","shape":[4],"data_offsets":[0,4]"#)
        #expect(rejection(of: file)?.kind == .invalidTensorEntry)
    }
}
