/// Caller-owned memory a response body is written into, in order: one buffer, or the buffers of
/// several parts that one request fetches. Bytes go straight from libcurl's receive buffer to
/// where they are served from; nothing copies them again.
struct BodyMemory: @unchecked Sendable {
    /// The buffers, filled one after the other.
    let pieces: [UnsafeMutableRawBufferPointer]
    /// How many bytes they hold in all.
    let capacity: Int

    /// Memory made of `pieces`, filled in order.
    init(_ pieces: [UnsafeMutableRawBufferPointer]) {
        self.pieces = pieces
        capacity = pieces.reduce(0) { $0 + $1.count }
    }

    /// One buffer of `count` bytes at `start`.
    init(start: UnsafeMutableRawPointer, count: Int) {
        self.init([UnsafeMutableRawBufferPointer(start: start, count: count)])
    }

    /// Copies `bytes` to where the body's byte `offset` belongs; they must fit.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && bytes.count <= capacity - offset, "the bytes must fit")
        var skipped = 0
        var written = 0
        for piece in pieces where written < bytes.count {
            let pieceStart = offset + written - skipped
            guard pieceStart < piece.count else {
                skipped += piece.count
                continue
            }
            let count = min(piece.count - pieceStart, bytes.count - written)
            (piece.baseAddress! + pieceStart).copyMemory(from: bytes.baseAddress! + written, byteCount: count)
            written += count
            skipped += piece.count
        }
    }

    /// The memory past its first `count` bytes.
    func dropping(first count: Int) -> BodyMemory {
        var rest = count
        var kept: [UnsafeMutableRawBufferPointer] = []
        for piece in pieces {
            if rest >= piece.count {
                rest -= piece.count
            } else {
                kept.append(UnsafeMutableRawBufferPointer(rebasing: piece[rest...]))
                rest = 0
            }
        }
        return BodyMemory(kept)
    }
}
