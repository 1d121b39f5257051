#if canImport(Glibc)
import Glibc
#endif

/// Milliseconds of a clock that never jumps.
enum MonotonicClock {
    /// Now, in milliseconds since an arbitrary start.
    @Sendable static func milliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }
}
