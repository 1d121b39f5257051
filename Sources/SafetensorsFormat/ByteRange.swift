/// A half-open range of byte offsets, `[start, end)`.
public struct ByteRange: Hashable, Sendable, CustomStringConvertible {
    /// The first byte in the range.
    public var start: UInt64
    /// One past the last byte in the range.
    public var end: UInt64

    /// Creates `[start, end)`; `end` must not precede `start`.
    public init(start: UInt64, end: UInt64) {
        precondition(end >= start, "ByteRange end precedes start")
        self.start = start
        self.end = end
    }

    /// Creates the range of `count` bytes beginning at `start`, or nil if its end overflows.
    public init?(start: UInt64, count: UInt64) {
        let (end, overflow) = start.addingReportingOverflow(count)
        if overflow { return nil }
        self.init(start: start, end: end)
    }

    /// The number of bytes in the range.
    public var count: UInt64 { end - start }

    /// Whether the range holds no bytes.
    public var isEmpty: Bool { start == end }

    /// This range moved `distance` bytes later, or nil if that overflows.
    public func shifted(by distance: UInt64) -> ByteRange? {
        let (newStart, o1) = start.addingReportingOverflow(distance)
        let (newEnd, o2) = end.addingReportingOverflow(distance)
        if o1 || o2 { return nil }
        return ByteRange(start: newStart, end: newEnd)
    }

    /// Whether every byte of `other` is in this range.
    public func contains(_ other: ByteRange) -> Bool {
        start <= other.start && other.end <= end
    }

    /// The bytes shared with `other`, or nil when they do not overlap.
    public func clamped(to other: ByteRange) -> ByteRange? {
        let lower = max(start, other.start)
        let upper = min(end, other.end)
        return lower < upper ? ByteRange(start: lower, end: upper) : nil
    }

    public var description: String { "[\(start), \(end))" }
}
