import Synchronization

/// Reuses part-sized buffers: a fresh buffer costs a page fault and a page of zeroes per 4 KiB
/// on first write, which at loopback speeds took a fifth of the daemon's time.
final class BufferPool: Sendable {
    /// The size of every pooled buffer.
    let bufferSize: Int
    private let limit: Int
    private let free = Mutex<[Buffer]>([])

    /// A buffer's address, passed between threads but used by one owner at a time.
    struct Buffer: @unchecked Sendable {
        var pointer: UnsafeMutableRawPointer
    }

    /// A pool of `bufferSize`-byte buffers that keeps at most `limit` unused ones.
    init(bufferSize: Int, limit: Int) {
        self.bufferSize = bufferSize
        self.limit = limit
    }

    deinit {
        free.withLock { buffers in buffers.forEach { $0.pointer.deallocate() } }
    }

    /// Memory for `count` bytes: a pooled buffer when `count` is most of one, else a new one
    /// (then `pooled` is false).
    func take(count: Int) -> (pointer: UnsafeMutableRawPointer, pooled: Bool) {
        guard count > bufferSize / 2, count <= bufferSize else {
            return (UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 4096), false)
        }
        if let reused = free.withLock({ $0.popLast() }) { return (reused.pointer, true) }
        return (UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 4096), true)
    }

    /// Takes back a buffer from `take` that was pooled.
    func give(_ pointer: UnsafeMutableRawPointer) {
        let kept = free.withLock { buffers in
            guard buffers.count < limit else { return false }
            buffers.append(Buffer(pointer: pointer))
            return true
        }
        if !kept { pointer.deallocate() }
    }
}
