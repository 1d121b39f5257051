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

        /// The syslog severity (RFC 5424): err, warning, info, debug.
        var severity: Int {
            switch self {
            case .error: 3
            case .warning: 4
            case .info: 6
            case .debug: 7
            }
        }
    }

    /// How each line is written.
    public enum Format: Sendable {
        /// `HH:MM:SS.mmm level: message` and a newline, for files and terminals.
        case timestamped
        /// `<PRIORITY>IDENTIFIER[PID]: message`, one datagram per line, for a syslog socket
        /// (facility daemon); the receiver adds the time.
        case syslog(identifier: String)
    }

    /// The descriptor lines go to; negative for nowhere.
    public let descriptor: Int32
    /// The most detailed level written.
    public let level: Level
    /// How lines are written.
    public let format: Format

    /// A log writing to `descriptor` up to `level`, in `format`.
    public init(descriptor: Int32, level: Level, format: Format = .timestamped) {
        self.descriptor = descriptor
        self.level = level
        self.format = format
    }

    /// A log that writes nothing.
    public static let disabled = EventLog(descriptor: -1, level: .error)

    /// Whether lines of `level` are written; check it before building costly messages.
    public func isEnabled(_ level: Level) -> Bool {
        descriptor >= 0 && level <= self.level
    }

    /// Writes `message` as one line of `level`, in the log's format.
    public func write(_ level: Level, _ message: @autoclosure () -> String) {
        guard isEnabled(level) else { return }
        var line: String
        switch format {
        case .timestamped:
            line = "\(Self.timestamp()) \(level.label): \(message())".replacingNewlines() + "\n"
        case .syslog(let identifier):
            // Facility 3 is "daemon".
            line = "<\(3 * 8 + level.severity)>\(identifier)[\(getpid())]: \(message())".replacingNewlines()
        }
        line.withUTF8 { bytes in
            _ = Glibc.write(descriptor, bytes.baseAddress, bytes.count)
        }
    }

    /// The time of day (UTC) to the millisecond, as `HH:MM:SS.mmm`.
    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var broken = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &broken)
        return String(format2: broken.tm_hour) + ":" + String(format2: broken.tm_min) + ":" + String(format2: broken.tm_sec)
            + "." + String(now.tv_nsec / 1_000_000).leftPadded(to: 3)
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
