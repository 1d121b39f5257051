import Testing
import SafetensorsFormat

/// Rules 1 to 3: the 8-byte little-endian header length, its limit, and the file's end.
@Suite("header length prefix")
struct HeaderPrefixTests {
    /// Decodes a synthesized prefix holding `length` for a file of `fileSize` bytes.
    private func headerLength(_ length: UInt64, fileSize: UInt64) throws(SafetensorsError) -> UInt64 {
        let prefix = withUnsafeBytes(of: length.littleEndian) { Array($0) }
        return try withBytes(of: prefix) { buffer throws(SafetensorsError) in
            try SafetensorsHeader.headerLength(prefix: buffer, fileSize: fileSize, file: CraftedFile.name)
        }
    }

    private func prefixProblem(_ length: UInt64, fileSize: UInt64) -> SafetensorsError.Problem? {
        do {
            let accepted = try headerLength(length, fileSize: fileSize)
            Issue.record("expected a rejection, got a header length of \(accepted)")
            return nil
        } catch {
            expectOneLine(error, file: CraftedFile.name)
            return error.problem
        }
    }

    @Test("a file of fewer than 8 bytes is rejected as too short", arguments: 0..<8)
    func fileShorterThanPrefix(size: Int) {
        let file = CraftedFile(bytes: Array(repeating: 0, count: size))
        #expect(rejection(of: file) == .fileTooShort(size: UInt64(size)))
    }

    @Test("a prefix buffer shorter than 8 bytes is rejected even when the file size claims more")
    func shortPrefixBuffer() {
        let prefix: [UInt8] = [2, 0, 0, 0]
        #expect(throws: SafetensorsError(file: "f", problem: .fileTooShort(size: 100))) {
            try withBytes(of: prefix) { buffer throws(SafetensorsError) in
                try SafetensorsHeader.headerLength(prefix: buffer, fileSize: 100, file: "f")
            }
        }
    }

    @Test("a header length above 100,000,000 is rejected as too large")
    func headerLengthAboveLimit() {
        #expect(prefixProblem(100_000_001, fileSize: 1 << 40) == .headerTooLarge(length: 100_000_001, limit: 100_000_000))
    }

    @Test("a header length of 2^64-1 is rejected as too large, before the end of the file is considered")
    func headerLengthAllOnes() {
        #expect(prefixProblem(.max, fileSize: 16) == .headerTooLarge(length: .max, limit: 100_000_000))
    }

    @Test("a header length of exactly 100,000,000 is allowed")
    func headerLengthAtLimit() throws {
        #expect(try headerLength(100_000_000, fileSize: 100_000_008) == 100_000_000)
        #expect(SafetensorsHeader.maximumHeaderLength == 100_000_000)
    }

    @Test("a header of exactly 100,000,000 bytes must still fit in the file")
    func headerLengthAtLimitPastEnd() {
        #expect(prefixProblem(100_000_000, fileSize: 100_000_007) == .headerPastEndOfFile(length: 100_000_000, fileSize: 100_000_007))
    }

    @Test("a header that runs one byte past the end of the file is rejected")
    func headerPastEndOfFile() {
        let file = CraftedFile(headerBytes: Array("{}".utf8), declaredLength: 3)
        #expect(rejection(of: file) == .headerPastEndOfFile(length: 3, fileSize: 10))
    }

    @Test("a header that ends exactly at the end of the file is read")
    func headerEndsAtEndOfFile() throws {
        let header = try #require(acceptance(of: CraftedFile("{}")))
        #expect(header.headerLength == 2)
        #expect(header.fileSize == 10)
        #expect(header.dataStart == 10)
        #expect(header.tensors.isEmpty)
        #expect(header.metadata == nil)
    }

    @Test("the header length is read little-endian")
    func littleEndianLength() throws {
        let littleEndian = CraftedFile(bytes: [2, 0, 0, 0, 0, 0, 0, 0] + Array("{}".utf8))
        #expect(try littleEndian.parse().headerLength == 2)
        let bigEndian = CraftedFile(bytes: [0, 0, 0, 0, 0, 0, 0, 2] + Array("{}".utf8))
        #expect(rejection(of: bigEndian)?.kind == .headerTooLarge)
    }

    @Test("a header length of 0 leaves an empty header, which is not JSON")
    func zeroLengthHeader() {
        #expect(rejection(of: CraftedFile(bytes: Array(repeating: 0, count: 8)))?.kind == .invalidJSON)
        #expect(rejection(of: CraftedFile(headerBytes: [], dataCount: 4))?.kind == .invalidJSON)
    }

    @Test("when several rules are broken, the first in the reference's order is reported")
    func rulesApplyInOrder() {
        // Rule 2 before rule 3: too large wins over past the end.
        #expect(rejection(of: CraftedFile(headerBytes: Array("{}".utf8), declaredLength: 200_000_000))?.kind == .headerTooLarge)
        // Rule 4 before rule 5: bad UTF-8 wins over bad JSON.
        #expect(rejection(of: CraftedFile(headerBytes: [0x7B, 0xFF]))?.kind == .invalidUTF8)
        // Rule 5 before rule 8: bad JSON wins over trailing data.
        #expect(rejection(of: CraftedFile("{", dataCount: 3))?.kind == .invalidJSON)
    }

    @Test("the JSON entry point takes the header text and the file size")
    func jsonEntryPoint() throws {
        let json = Array(#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.utf8)
        let header = try withBytes(of: json) { buffer throws(SafetensorsError) in
            try SafetensorsHeader(json: buffer, fileSize: 8 + UInt64(json.count) + 8, file: "x.safetensors")
        }
        #expect(header.headerLength == UInt64(json.count))
        #expect(header.dataStart == 8 + UInt64(json.count))
        #expect(header.tensors.map(\.name) == ["t"])
        let error = #expect(throws: SafetensorsError.self) {
            try withBytes(of: json) { buffer throws(SafetensorsError) in
                try SafetensorsHeader(json: buffer, fileSize: 8 + UInt64(json.count) + 9, file: "x.safetensors")
            }
        }
        #expect(error?.problem.kind == .dataSizeMismatch)
        #expect(error?.file == "x.safetensors")
    }
}
