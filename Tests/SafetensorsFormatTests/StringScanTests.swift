import Testing
@testable import SafetensorsFormat

/// The scanner's eight-bytes-at-a-time search for the end of a string's plain run.
@Suite("string scan")
struct StringScanTests {
    /// The first byte of `bytes` that is a quote, a backslash or a control character.
    private func firstSpecial(_ bytes: [UInt8]) -> Int? {
        bytes.firstIndex { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }
    }

    private func found(_ bytes: [UInt8]) -> Int? {
        let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let marks = JSONScanner.specialBytes(in: word)
        return marks == 0 ? nil : marks.trailingZeroBitCount / 8
    }

    @Test("every byte value in every lane is found, or not, exactly as a byte loop finds it")
    func everyByteInEveryLane() {
        for lane in 0..<8 {
            for value in 0...255 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 8)
                bytes[lane] = UInt8(value)
                #expect(found(bytes) == firstSpecial(bytes), "byte \(value) in lane \(lane)")
            }
        }
    }

    @Test("mixed words agree with a byte loop")
    func randomWords() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x00, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x7F, 0x80, 0xA2, 0xDC, 0xFF, UInt8(ascii: "a")]
        for _ in 0..<20000 {
            let bytes = (0..<8).map { _ in alphabet.randomElement(using: &generator)! }
            #expect(found(bytes) == firstSpecial(bytes), "\(bytes)")
        }
    }

    @Test("strings of every length with an escape or a quote at every position scan as before")
    func stringsAroundWordEdges() throws {
        for length in 0..<20 {
            for position in 0...length {
                var body = String(repeating: "n", count: length)
                body.insert(contentsOf: "\\\"", at: body.index(body.startIndex, offsetBy: position))
                let text = Array("\"\(body)\" ".utf8)
                let span = try text.withUnsafeBytes { raw in
                    var scanner = JSONScanner(text: raw)
                    return try scanner.scanString()
                }
                #expect(span.start == 1 && span.end == text.count - 2 && span.hasEscapes, "length \(length), escape at \(position)")
            }
        }
    }
}
