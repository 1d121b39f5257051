#if canImport(Glibc)
import Glibc
#endif

/// Where the daemon writes what happens: one line per event, written whole with one `write`
/// so that lines from different threads never interleave.
public struct EventLog: Sendable {
    /// How much to write.
    public enum Level: Int, Sendable, Comparable {
        /// Failures the user must see.
        case error
        /// Oddities that do not stop the mount.
        case warning
        /// Start, stop and other milestones.
        case info
        /// Every FUSE operation.
        case debug

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        var label: String {
            switch self {
            case .error: "error"
            case .warning: "warning"
            case .info: "info"
            case .debug: "debug"
            }
        }
    }

    /// The descriptor lines go to; negative for nowhere.
    public let descriptor: Int32
    /// The most detailed level written.
    public let level: Level

    /// A log writing to `descriptor` up to `level`.
    public init(descriptor: Int32, level: Level) {
        self.descriptor = descriptor
        self.level = level
    }

    /// A log that writes nothing.
    public static let disabled = EventLog(descriptor: -1, level: .error)

    /// Whether lines of `level` are written; check it before building costly messages.
    public func isEnabled(_ level: Level) -> Bool {
        descriptor >= 0 && level <= self.level
    }

    /// Writes `message` as one line tagged with the time and `level`.
    public func write(_ level: Level, _ message: @autoclosure () -> String) {
        guard isEnabled(level) else { return }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var broken = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &broken)
        let stamp = String(format2: broken.tm_hour) + ":" + String(format2: broken.tm_min) + ":" + String(format2: broken.tm_sec)
            + "." + String(now.tv_nsec / 1_000_000).leftPadded(to: 3)
        var line = "\(stamp) \(level.label): \(message())"
        line = line.replacingNewlines() + "\n"
        line.withUTF8 { bytes in
            _ = Glibc.write(descriptor, bytes.baseAddress, bytes.count)
        }
    }
}

private extension String {
    init(format2 value: Int32) {
        self = value < 10 ? "0\(value)" : "\(value)"
    }

    func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }

    func replacingNewlines() -> String {
        String(unicodeScalars.map { $0 == "\n" ? " " : Character($0) })
    }
}
