#if canImport(Glibc)
import Glibc
#endif

/// A point in time, as seconds and nanoseconds since the Unix epoch.
public struct Timestamp: Hashable, Sendable, Comparable {
    /// Whole seconds since the epoch.
    public var seconds: Int64
    /// Nanoseconds past `seconds`.
    public var nanoseconds: Int64

    /// Creates a timestamp.
    public init(seconds: Int64, nanoseconds: Int64) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// The time a `stat` field holds.
    public init(_ time: timespec) {
        self.init(seconds: Int64(time.tv_sec), nanoseconds: Int64(time.tv_nsec))
    }

    /// The epoch itself.
    public static let zero = Timestamp(seconds: 0, nanoseconds: 0)

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }
}
