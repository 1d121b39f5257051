import ByteSources
import SafetensorsFormat

extension FileContents.Body {
    /// Copies `range` of the body into `buffer`, which holds exactly `range.count` bytes, for
    /// code that computes from the bytes rather than replying with them: sources are read
    /// with `copyBytes(in:into:)`, never through a mapping, so a file that shrank makes this
    /// throw instead of faulting.
    func copyBytes(in range: ByteRange, into buffer: UnsafeMutableRawBufferPointer) throws(ByteSourceError) {
        precondition(UInt64(buffer.count) == range.count, "the buffer must hold the range exactly")
        var filled = 0
        var failure: ByteSourceError?
        forEachSegment(in: range) { segment in
            guard failure == nil else { return }
            do throws(ByteSourceError) {
                switch segment {
                case .memory(let memory):
                    UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<filled + memory.count]).copyMemory(from: memory)
                    filled += memory.count
                case .source(let segment):
                    try segment.source.copyBytes(in: segment.range, into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<filled + Int(segment.range.count)]))
                    filled += Int(segment.range.count)
                case .produced(let produced):
                    filled += try produced.withBytes { (bytes) throws(ByteSourceError) -> Int in
                        UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<filled + bytes.count]).copyMemory(from: bytes)
                        return bytes.count
                    }
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }
}
