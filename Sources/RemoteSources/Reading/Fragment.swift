import SafetensorsFormat
#if canImport(Glibc)
import Glibc
#endif

/// Bytes of one range of a remote object, immutable once made: fetched into memory, or mapped
/// from a disk cache file. Readers hold a reference while the kernel copies from it, so eviction
/// never pulls memory from under a reply.
final class Fragment: @unchecked Sendable {
    /// Where the bytes lie in the object.
    let range: ByteRange
    /// The bytes.
    let bytes: UnsafeRawBufferPointer
    private let storage: Storage

    private enum Storage {
        case heap(UnsafeMutableRawPointer, pool: BufferPool?)
        case mapping(UnsafeMutableRawPointer, length: Int)
    }

    /// Takes ownership of memory holding `range`, from `pool` (which gets it back) or allocated.
    init(range: ByteRange, memory: UnsafeMutableRawPointer, pool: BufferPool?) {
        self.range = range
        bytes = UnsafeRawBufferPointer(start: memory, count: Int(range.count))
        storage = .heap(memory, pool: pool)
    }

    /// Takes ownership of a mapping of `length` bytes whose first `range.count` bytes hold `range`.
    init(range: ByteRange, mapping: UnsafeMutableRawPointer, length: Int) {
        self.range = range
        bytes = UnsafeRawBufferPointer(start: mapping, count: Int(range.count))
        storage = .mapping(mapping, length: length)
    }

    deinit {
        switch storage {
        case .heap(let pointer, let pool):
            if let pool { pool.give(pointer) } else { pointer.deallocate() }
        case .mapping(let pointer, let length): munmap(pointer, length)
        }
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
