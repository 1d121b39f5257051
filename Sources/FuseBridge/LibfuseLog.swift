import CFuse
import Synchronization
import TensorFS
#if canImport(Glibc)
import Glibc
#endif

/// Routes libfuse's own messages into the event log and remembers the last one, so that a
/// failed mount can say why in one line.
enum LibfuseLog {
    private static let state = Mutex<(log: EventLog, last: String?)>((.disabled, nil))

    /// Sends libfuse's messages to `log` from now on.
    static func capture(into log: EventLog) {
        state.withLock { $0 = (log, nil) }
        fuse_set_log_func { level, format, arguments in
            guard let arguments else { return }
            var buffer = [CChar](repeating: 0, count: 1024)
            _ = vsnprintf(&buffer, buffer.count, format, arguments)
            let length = buffer.firstIndex(of: 0) ?? buffer.count
            let message = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self).trimmingTrailingWhitespace()
            LibfuseLog.record(message, isError: level.rawValue <= FUSE_LOG_ERR.rawValue)
        }
    }

    private static func record(_ message: String, isError: Bool) {
        let log = state.withLock { state in
            if isError { state.last = message }
            return state.log
        }
        log.write(isError ? .error : .debug, "libfuse: \(message)")
    }

    /// The last error libfuse reported, and forgets it.
    static func takeLastError() -> String? {
        state.withLock { state in
            defer { state.last = nil }
            return state.last
        }
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var scalars = Substring(self)
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
