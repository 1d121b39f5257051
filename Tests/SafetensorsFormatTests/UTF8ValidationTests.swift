import Testing
@testable import SafetensorsFormat

/// Rule 4: the header must be well-formed UTF-8, checked before any JSON is read.
@Suite("UTF-8 validation")
struct UTF8ValidationTests {
    /// A one-tensor header whose name is `{"a` + `bytes` + `b"...`; the bad bytes start at header byte 3.
    private func fileWithName(containing bytes: [UInt8]) -> CraftedFile {
        let before = Array(#"{"a"#.utf8)
        let after = Array(#"b":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#.utf8)
        return CraftedFile(headerBytes: before + bytes + after)
    }

    static let malformed: [(String, [UInt8])] = [
        ("overlong 2-byte NUL", [0xC0, 0x80]),
        ("overlong 2-byte '?'", [0xC1, 0xBF]),
        ("overlong 3-byte NUL", [0xE0, 0x80, 0x80]),
        ("overlong 3-byte U+07FF", [0xE0, 0x9F, 0xBF]),
        ("overlong 4-byte NUL", [0xF0, 0x80, 0x80, 0x80]),
        ("overlong 4-byte U+FFFF", [0xF0, 0x8F, 0xBF, 0xBF]),
        ("high surrogate U+D800", [0xED, 0xA0, 0x80]),
        ("low surrogate U+DFFF", [0xED, 0xBF, 0xBF]),
        ("CESU-8 surrogate pair", [0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]),
        ("truncated 2-byte sequence", [0xC3]),
        ("truncated 3-byte sequence", [0xE2, 0x82]),
        ("truncated 4-byte sequence", [0xF0, 0x9F, 0x98]),
        ("3-byte sequence cut by ASCII", [0xE2, 0x41, 0x41]),
        ("lone continuation byte", [0x80]),
        ("lone last continuation byte", [0xBF]),
        ("above U+10FFFF", [0xF4, 0x90, 0x80, 0x80]),
        ("lead byte F5", [0xF5, 0x80, 0x80, 0x80]),
        ("byte FE", [0xFE]),
        ("byte FF", [0xFF]),
    ]

    @Test("malformed UTF-8 in the header is rejected at its first bad byte", arguments: malformed)
    func malformedSequence(label: String, bytes: [UInt8]) {
        #expect(rejection(of: fileWithName(containing: bytes)) == .invalidUTF8(offset: 3), "\(label)")
    }

    static let wellFormed: [(String, [UInt8])] = [
        ("U+0080, the first 2-byte scalar", [0xC2, 0x80]),
        ("U+07FF, the last 2-byte scalar", [0xDF, 0xBF]),
        ("U+0800, the first 3-byte scalar", [0xE0, 0xA0, 0x80]),
        ("U+D7FF, just below the surrogates", [0xED, 0x9F, 0xBF]),
        ("U+E000, just above the surrogates", [0xEE, 0x80, 0x80]),
        ("U+FFFF, the last 3-byte scalar", [0xEF, 0xBF, 0xBF]),
        ("U+10000, the first 4-byte scalar", [0xF0, 0x90, 0x80, 0x80]),
        ("U+10FFFF, the last scalar", [0xF4, 0x8F, 0xBF, 0xBF]),
        ("U+FEFF inside a string", [0xEF, 0xBB, 0xBF]),
    ]

    @Test("well-formed UTF-8 at the edges of each sequence length is accepted", arguments: wellFormed)
    func wellFormedSequence(label: String, bytes: [UInt8]) throws {
        let header = try #require(acceptance(of: fileWithName(containing: bytes)), "\(label)")
        #expect(Array(header.tensors[0].name.utf8) == [UInt8(ascii: "a")] + bytes + [UInt8(ascii: "b")])
    }

    @Test("a sequence truncated by the end of the header is rejected as UTF-8, not as JSON")
    func truncatedAtEnd() {
        #expect(rejection(of: CraftedFile(headerBytes: Array("{}".utf8) + [0xE2, 0x82])) == .invalidUTF8(offset: 2))
    }

    @Test("invalid UTF-8 is reported even where JSON would fail first")
    func utf8BeforeJSON() {
        #expect(rejection(of: CraftedFile(headerBytes: [0xFF, 0x7B, 0x7D])) == .invalidUTF8(offset: 0))
        #expect(rejection(of: CraftedFile(headerBytes: Array("{} ".utf8) + [0xC3, 0xA9, 0x80])) == .invalidUTF8(offset: 5))
    }

    @Test("the data bytes are not checked for UTF-8")
    func dataIsNotText() throws {
        var file = CraftedFile(#"{"t":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#)
        file.bytes += [0xFF, 0xC0]
        #expect(try file.parse().tensors.count == 1)
    }

    @Test("the first bad byte is found at any position after a run of ASCII", arguments: 0..<40)
    func offsetAfterASCIIRun(position: Int) {
        var bytes = Array(repeating: UInt8(ascii: " "), count: 48)
        bytes[position] = 0x80
        bytes.withUnsafeBytes { #expect(firstInvalidUTF8Offset(in: $0) == position) }
    }

    @Test("a run of multi-byte scalars across 8-byte boundaries is well-formed")
    func multiByteRuns() {
        let text = String(repeating: "aé€😀", count: 20)
        Array(text.utf8).withUnsafeBytes { #expect(firstInvalidUTF8Offset(in: $0) == nil) }
        let empty: [UInt8] = []
        empty.withUnsafeBytes { #expect(firstInvalidUTF8Offset(in: $0) == nil) }
    }
}
