import Synchronization

/// Reuses buffers of one size (remote parts, values converted for a read): a fresh buffer costs
/// a page fault and a page of zeroes per 4 KiB on first write, which at loopback speeds took a
/// fifth of the daemon's time.
public final class BufferPool: Sendable {
    /// The size of every pooled buffer.
    public let bufferSize: Int
    private let limit: Int
    private let free = Mutex<[Buffer]>([])

    /// Memory from `take`, passed between threads but used by one owner at a time; it goes back
    /// with `give`.
    public struct Buffer: @unchecked Sendable {
        /// The memory.
        public let pointer: UnsafeMutableRawPointer
        /// Whether it is one of the pool's buffers (else it was allocated for an odd size).
        fileprivate let isPooled: Bool
    }

    /// A pool of `bufferSize`-byte buffers that keeps at most `limit` unused ones.
    public init(bufferSize: Int, limit: Int) {
        self.bufferSize = bufferSize
        self.limit = limit
    }

    deinit {
        free.withLock { buffers in buffers.forEach { $0.pointer.deallocate() } }
    }

    /// Memory for `count` bytes: a pooled buffer when `count` is most of one, else a new one.
    public func take(count: Int) -> Buffer {
        guard count > bufferSize / 2, count <= bufferSize else {
            return Buffer(pointer: UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 4096), isPooled: false)
        }
        return takeBuffer()
    }

    /// A pooled buffer, whatever part of its `bufferSize` bytes the caller needs.
    public func takeBuffer() -> Buffer {
        free.withLock { $0.popLast() } ?? Buffer(pointer: UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 4096), isPooled: true)
    }

    /// Takes back memory from `take` or `takeBuffer`: keeps a pooled buffer while there is
    /// room, frees the rest.
    public func give(_ buffer: Buffer) {
        let kept = buffer.isPooled && free.withLock { buffers in
            guard buffers.count < limit else { return false }
            buffers.append(buffer)
            return true
        }
        if !kept { buffer.pointer.deallocate() }
    }
}
