import SafetensorsFormat
import Testing

@Suite struct JSONValueTests {
    @Test func aDocumentParsesIntoValuesWithExactNumbers() throws {
        let value = try JSONValue(parsing: Array(#"{"sha": "abc", "siblings": [{"size": 18446744073709551615, "lfs": null}], "private": false, "x": -1.5e3}"#.utf8))
        #expect(value["sha"]?.string == "abc")
        #expect(value["siblings"]?.array?.first?["size"]?.unsignedInteger == .max)
        #expect(value["siblings"]?.array?.first?["lfs"] == .null)
        #expect(value["private"] == .bool(false))
        #expect(value["x"] == .number("-1.5e3") && value["x"]?.unsignedInteger == nil)
        #expect(value["missing"] == nil && value["sha"]?["inner"] == nil)
    }

    @Test func escapesDecode() throws {
        #expect(try JSONValue(parsing: Array(#"["a\"b\u00e9\n"]"#.utf8)).array?.first?.string == "a\"bé\n")
    }

    @Test func malformedTextFailsSayingWhere() {
        for text in ["{\"a\": }", "[1, 2", "{} x", "\"\u{1}\""] {
            #expect(throws: JSONValue.ParseError.self, "\(text)") { try JSONValue(parsing: Array(text.utf8)) }
        }
        #expect { try JSONValue(parsing: [0x22, 0xFF, 0x22]) } throws: { "\($0)" == "not valid UTF-8 (at byte 1)" }
    }
}
