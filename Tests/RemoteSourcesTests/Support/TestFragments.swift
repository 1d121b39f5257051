import ByteSources
@testable import RemoteSources
import SafetensorsFormat

/// Buffers for the fragments tests make.
let testBuffers = BufferPool(bufferSize: 1 << 16, limit: 8)

/// A fragment of `range` holding `patternBytes` with `seed`.
func makeFragment(_ range: ByteRange, seed: UInt8 = 0) -> Fragment {
    let buffer = testBuffers.take(count: Int(range.count))
    let bytes = patternBytes(Int(range.count), seed: seed)
    bytes.withUnsafeBytes { buffer.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    return Fragment(range: range, buffer: buffer, pool: testBuffers)
}
