@testable import ByteSources
import Testing

@Suite struct OwnMemoryCopyTests {
    @Test("copying many pieces of this process's memory resumes correctly after every call")
    func ownMemoryCopy() throws {
        let source = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        try source.withUnsafeBytes { memory in
            let ranges = stride(from: 0, to: 99_000, by: 37).map { $0..<($0 + $0 % 13) }
            let expected = ranges.flatMap { source[$0] }
            let destination = UnsafeMutableRawBufferPointer.allocate(byteCount: expected.count, alignment: 1)
            defer { destination.deallocate() }
            try OwnMemoryCopy.copy(ranges.map { UnsafeRawBufferPointer(rebasing: memory[$0]) }, into: destination)
            #expect(Array(destination) == expected)
        }
    }
}
