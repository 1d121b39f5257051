import ByteSources
import Foundation
import SafetensorsFormat
import SystemPackage
import Testing
@testable import ByteSources

/// A mapped source whose file changes underneath: reads of lost bytes fail naming the file,
/// reads of the rest go on, and the process never touches a page that is gone.
@Suite("mapped files that change while mounted")
struct MappedFileTests {
    /// A fresh file of `count` bytes (0, 1, 2, ...), removed by `body`'s end.
    static func withFile(count: Int, _ body: (String) throws -> Void) throws {
        let path = NSTemporaryDirectory() + "tensorfs-mapped-" + UUID().uuidString
        try Data((0..<count).map { UInt8(truncatingIfNeeded: $0) }).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        try body(path)
    }

    static func read(_ file: MappedFile, _ start: UInt64, _ end: UInt64) throws(ByteSourceError) -> [UInt8] {
        try file.withMemory(of: ByteRange(start: start, end: end)) { pieces in pieces.flatMap { Array($0) } }
    }

    @Test("bytes past a truncation fail with the file's name, also inside the last page")
    func truncatedBytesFail() throws {
        try Self.withFile(count: 10_000) { path in
            let file = try MappedFile(path: path, displayName: "models/m.safetensors")
            #expect(truncate(path, 9_000) == 0)
            // Byte 9,000 shares its page with bytes the file still has: a mapping reads it as 0.
            let error = #expect(throws: ByteSourceError.self) { try Self.read(file, 8_990, 9_001) }
            #expect(error?.description.hasPrefix("models/m.safetensors: changed while mounted: truncated to 9000 bytes (it was 10000)") == true)
            #expect(try Self.read(file, 8_990, 9_000) == (8_990..<9_000).map { UInt8(truncatingIfNeeded: $0) })
            #expect(try Self.read(file, 9_500, 9_500).isEmpty)
        }
    }

    @Test("a gathered read fails when any of its ranges is gone")
    func gatheredBytesFail() throws {
        try Self.withFile(count: 8_192) { path in
            let file = try MappedFile(path: path, displayName: "m.safetensors")
            #expect(truncate(path, 4_096) == 0)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 8, alignment: 1)
            defer { buffer.deallocate() }
            #expect(throws: ByteSourceError.self) {
                try file.copyBytes(in: [ByteRange(start: 0, end: 4), ByteRange(start: 5_000, end: 5_004)], into: buffer)
            }
        }
    }

    @Test("a FIFO is refused at once instead of waiting for a writer")
    func fifoRefused() throws {
        let path = NSTemporaryDirectory() + "tensorfs-fifo-" + UUID().uuidString
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        #expect(throws: ByteSourceError.self) { try MappedFile(path: path, displayName: "fifo") }
    }
}
