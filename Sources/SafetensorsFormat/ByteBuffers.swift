#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension UnsafeRawBufferPointer {
    /// Whether both buffers hold the same bytes, compared with `memcmp`: names are compared by
    /// the hundred thousand, and the generic `elementsEqual` walks them a byte at a time.
    @inlinable
    public func hasSameBytes(as other: UnsafeRawBufferPointer) -> Bool {
        guard count == other.count else { return false }
        guard let base = baseAddress, let otherBase = other.baseAddress else { return true }
        return memcmp(base, otherBase, count) == 0
    }
}

extension Array where Element == UInt8 {
    /// Appends `bytes` in one copy: the generic `append(contentsOf:)` copies a raw buffer a
    /// byte at a time.
    @inlinable
    public mutating func append(bytes: UnsafeRawBufferPointer) {
        append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
    }
}
