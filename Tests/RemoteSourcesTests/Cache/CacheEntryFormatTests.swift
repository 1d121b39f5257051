@testable import RemoteSources
import SafetensorsFormat
import Testing

@Suite struct CacheEntryFormatTests {
    private let trailer = CacheEntryFormat.Trailer(range: ByteRange(start: 8 << 20, end: (8 << 20) + 12345), dataHash: 0xDEAD_BEEF, identity: "object v1\npart size 8388608")

    @Test func aTrailerReadsBackAsWritten() throws {
        let bytes = CacheEntryFormat.encode(trailer)
        #expect(CacheEntryFormat.trailerLength(tail: Array(bytes.suffix(CacheEntryFormat.tailLength))) == bytes.count)
        #expect(try CacheEntryFormat.decode(bytes).get() == trailer)
    }

    @Test func anyFlippedByteIsCaught() {
        let bytes = CacheEntryFormat.encode(trailer)
        for position in 0..<(bytes.count - CacheEntryFormat.tailLength) {
            var damaged = bytes
            damaged[position] ^= 0x01
            if case .success = CacheEntryFormat.decode(damaged) { Issue.record("byte \(position) flipped went unnoticed") }
        }
    }

    @Test func aTailThatIsNotOursIsRefused() {
        #expect(CacheEntryFormat.trailerLength(tail: Array(repeating: 0, count: CacheEntryFormat.tailLength)) == nil)
        #expect(CacheEntryFormat.trailerLength(tail: [1, 2, 3]) == nil)
    }
}
