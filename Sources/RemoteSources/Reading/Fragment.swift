import ByteSources
import SafetensorsFormat

/// Bytes of one range of a remote object in memory, immutable once made: fetched, or read from
/// a disk cache entry. Readers hold a reference while the kernel copies from it, so eviction
/// never pulls memory from under a reply; being the daemon's own memory, it cannot vanish the
/// way a mapping of a file that someone truncates does.
final class Fragment: @unchecked Sendable {
    /// Where the bytes lie in the object.
    let range: ByteRange
    /// The bytes.
    let bytes: UnsafeRawBufferPointer
    private let buffer: BufferPool.Buffer
    private let pool: BufferPool

    /// Takes ownership of `buffer` from `pool` (which gets it back), holding `range`.
    init(range: ByteRange, buffer: BufferPool.Buffer, pool: BufferPool) {
        self.range = range
        self.buffer = buffer
        self.pool = pool
        bytes = UnsafeRawBufferPointer(start: buffer.pointer, count: Int(range.count))
    }

    deinit {
        pool.give(buffer)
    }

    /// Whether the fragment holds all of `wanted`.
    func covers(_ wanted: ByteRange) -> Bool {
        range.contains(wanted)
    }

    /// The memory of `wanted`, which the fragment covers.
    func memory(of wanted: ByteRange) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[Int(wanted.start - range.start)..<Int(wanted.end - range.start)])
    }
}
