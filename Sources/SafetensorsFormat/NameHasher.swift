/// A fast, stable hash of byte strings (tensor names, path components) for hash tables.
///
/// Bytes are gathered into little-endian 64-bit words, each mixed into the state with one
/// multiply; the result goes through a finalizer so that the low bits, which pick a table slot,
/// depend on every byte. The hash does not depend on how the bytes are split across calls, and
/// `value` may be read at any point: the hash of each prefix of a name comes on the way.
public struct NameHasher {
    // Inlinable, with its state visible to the compiler: callers hash a byte at a time.
    @usableFromInline var state: UInt64
    /// Bytes not yet mixed in, the first in the lowest bits.
    @usableFromInline var pending: UInt64 = 0
    @usableFromInline var pendingCount: UInt64 = 0
    @usableFromInline var length: UInt64 = 0

    /// A hasher whose result also depends on `seed` (a parent directory, for instance).
    @inlinable
    public init(seed: UInt64 = 0) {
        state = (seed ^ 0x9E37_79B9_7F4A_7C15) &* 0xBF58_476D_1CE4_E5B9
    }

    /// Adds one byte.
    @inlinable
    public mutating func combine(_ byte: UInt8) {
        pending |= UInt64(byte) << (pendingCount * 8)
        pendingCount += 1
        length += 1
        if pendingCount == 8 {
            mix(pending)
            pending = 0
            pendingCount = 0
        }
    }

    /// Adds `bytes`, eight at a time where it can.
    @inlinable
    public mutating func combine(_ bytes: UnsafeRawBufferPointer) {
        guard pendingCount == 0 else {
            for byte in bytes { combine(byte) }
            return
        }
        var offset = 0
        while offset + 8 <= bytes.count {
            mix(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
            offset += 8
        }
        // The tail, fewer than eight bytes, becomes the pending word at once.
        var tail: UInt64 = 0
        for position in offset..<bytes.count {
            tail |= UInt64(bytes[position]) << (UInt64(position - offset) * 8)
        }
        pending = tail
        pendingCount = UInt64(bytes.count - offset)
        length += UInt64(bytes.count)
    }

    @inlinable
    mutating func mix(_ word: UInt64) {
        state = (state ^ word) &* 0x9E37_79B9_7F4A_7C15
        state ^= state >> 29
    }

    /// The hash of everything combined so far.
    @inlinable
    public var value: UInt64 {
        var hash = (state ^ pending) &* 0xFF51_AFD7_ED55_8CCD ^ length
        hash ^= hash >> 33
        hash = hash &* 0xC4CE_B9FE_1A85_EC53
        return hash ^ hash >> 33
    }

    /// The hash of `bytes`.
    @inlinable
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hasher = NameHasher()
        hasher.combine(bytes)
        return hasher.value
    }
}
