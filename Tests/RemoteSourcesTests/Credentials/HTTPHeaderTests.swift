@testable import RemoteSources
import Foundation
import Testing

@Suite struct HTTPHeaderTests {
    @Test func parsesNameAndValue() throws {
        let header = try HTTPHeader(parsing: "Authorization:   Bearer abc.def  ")
        #expect(header.name == "Authorization")
        #expect(header.line == "Authorization: Bearer abc.def")
        #expect("\(header)" == "Authorization: (redacted)")
    }

    @Test(arguments: ["NoColon", ": value", "Bad Name: x", "Range: bytes=0-1", "if-match: x", "X: a\u{7}b"])
    func refusesWhatWouldBreakRequests(line: String) {
        #expect(throws: HTTPHeaderError.self) { try HTTPHeader(parsing: line) }
    }

    @Test func errorsNeverQuoteTheValue() {
        do {
            _ = try HTTPHeader(parsing: "X-Key: secret\u{1}value")
        } catch {
            #expect(!error.description.contains("secret"))
        }
    }

    @Test func readsHeadersFromAFileGivenWithAnAt() throws {
        let directory = TemporaryDirectory()
        let path = directory.write(Array("Authorization: Bearer t\n\nX-Extra: 1\r\n".utf8), to: "headers")
        let headers = try HTTPHeader.parseArgument("@" + path)
        #expect(headers.map(\.line) == ["Authorization: Bearer t", "X-Extra: 1"])
        #expect(throws: HTTPHeaderError.self) { try HTTPHeader.parseArgument("@/nonexistent/headers") }
    }

    @Test func readsHeadersFromAPipeAsAShellsProcessSubstitutionGivesThem() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let line = Array("Authorization: Bearer piped\n".utf8)
        #expect(write(ends[1], line, line.count) == line.count)
        close(ends[1])
        #expect(try HTTPHeader.parseArgument("@/dev/fd/\(ends[0])").map(\.line) == ["Authorization: Bearer piped"])
    }

    @Test func travelsAsJSONIntactAndIsCheckedAgainOnTheWayIn() throws {
        let headers = [try HTTPHeader(parsing: "A: 1"), try HTTPHeader(parsing: "B: two words")]
        #expect(try JSONDecoder().decode([HTTPHeader].self, from: JSONEncoder().encode(headers)) == headers)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([HTTPHeader].self, from: Data(#"["Host: h"]"#.utf8)) }
    }
}
