@testable import RemoteSources
import Testing

@Suite struct BodyMemoryTests {
    @Test func writesRunAcrossPiecesInOrder() {
        let buffers = [5, 3, 4].map { UnsafeMutableRawBufferPointer.allocate(byteCount: $0, alignment: 1) }
        defer { buffers.forEach { $0.deallocate() } }
        buffers.forEach { $0.initializeMemory(as: UInt8.self, repeating: 0) }
        let memory = BodyMemory(buffers)
        #expect(memory.capacity == 12)
        let body: [UInt8] = Array(1...12)
        body.withUnsafeBytes { bytes in
            memory.write(UnsafeRawBufferPointer(rebasing: bytes[0..<4]), at: 0)
            memory.write(UnsafeRawBufferPointer(rebasing: bytes[4..<9]), at: 4)
            memory.write(UnsafeRawBufferPointer(rebasing: bytes[9..<12]), at: 9)
        }
        #expect(buffers.map { Array($0) } == [[1, 2, 3, 4, 5], [6, 7, 8], [9, 10, 11, 12]])
    }

    @Test func droppingTheFirstBytesLeavesTheRestInPlace() {
        let buffers = [5, 3, 4].map { UnsafeMutableRawBufferPointer.allocate(byteCount: $0, alignment: 1) }
        defer { buffers.forEach { $0.deallocate() } }
        let rest = BodyMemory(buffers).dropping(first: 6)
        #expect(rest.capacity == 6)
        #expect(rest.pieces.map(\.count) == [2, 4])
        #expect(rest.pieces[0].baseAddress == buffers[1].baseAddress! + 1)
        #expect(BodyMemory(buffers).dropping(first: 5).pieces.map(\.count) == [3, 4])
    }
}
