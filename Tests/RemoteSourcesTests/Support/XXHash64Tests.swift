@testable import RemoteSources
import Testing

@Suite struct XXHash64Tests {
    private func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { XXHash64.hash($0, seed: seed) }
    }

    @Test func matchesTheReferenceImplementationOnShortAndLongInputs() {
        #expect(hash([]) == 0xEF46_DB37_51D8_E999)
        #expect(hash(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
        #expect(hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        #expect(hash(Array("0123456789abcdef0123456789abcdef".utf8)) == 0x642A_9495_8E71_E6C5)
        let long = (0..<3).flatMap { _ in (0...255).map(UInt8.init) } + Array("tail-bytes".utf8)
        #expect(hash(long) == 0x9346_93A4_2840_3FDA)
        #expect(hash(Array("abc".utf8), seed: 7) == 0x9E75_5206_1566_76D7)
    }

    @Test func feedingInPiecesGivesTheSameHashAsAtOnce() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var hasher = XXHash64()
        var start = 0
        for size in [1, 30, 2, 100, 867] {
            bytes[start..<(start + size)].withUnsafeBytes { hasher.update($0) }
            start += size
        }
        #expect(hasher.finalize() == hash(bytes))
    }
}
