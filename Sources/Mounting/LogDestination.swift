import ByteSources
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Where a mount's log goes: the `--log-file`; else stderr in the foreground; else, for a
/// background daemon, the system log (`/dev/log`, which journald or syslog read) when there is
/// one, with warnings and errors only.
enum LogDestination {
    /// The log for `configuration`, served in the foreground or not.
    static func open(for configuration: MountConfiguration, foreground: Bool) throws(LogFileError) -> EventLog {
        let level: EventLog.Level = configuration.debug ? .debug : (configuration.logFile != nil ? .info : .warning)
        if let path = configuration.logFile {
            return EventLog(descriptor: try openFile(path).rawValue, level: level)
        }
        if foreground {
            // A copy of stderr: stderr itself is briefly redirected while mounting.
            guard let copy = try? FileDescriptor.standardError.duplicate() else { return .disabled }
            return EventLog(descriptor: copy.rawValue, level: level)
        }
        guard let socket = try? UnixSocket.connectedDatagramSocket(to: systemLogSocket) else { return .disabled }
        return EventLog(descriptor: socket.rawValue, level: level, format: .syslog(identifier: "tensorfs"))
    }

    /// Where syslog daemons and journald receive messages.
    static let systemLogSocket = "/dev/log"

    /// Opens the log file for appending, creating it. Anything but a regular file is refused:
    /// opening a FIFO would wait for a reader, forever. The open does not block, and the type is
    /// checked on the open descriptor.
    private static func openFile(_ path: String) throws(LogFileError) -> FileDescriptor {
        let file: FileDescriptor
        do {
            file = FileDescriptor(rawValue: try systemCall { Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0o644) })
        } catch .noSuchAddressOrDevice {
            // A FIFO nobody reads.
            throw LogFileError(path: path, reason: "not a regular file")
        } catch {
            throw LogFileError(path: path, reason: error.description)
        }
        let type = try? file.stat().type
        guard type == .regular else {
            try? file.close()
            throw LogFileError(path: path, reason: "not a regular file")
        }
        return file
    }
}

/// The log file asked for cannot be used.
struct LogFileError: Error, Equatable, CustomStringConvertible {
    /// The path given.
    var path: String
    /// Why it cannot be used.
    var reason: String

    var description: String { "\(path): cannot open the log file: \(reason)" }
}
