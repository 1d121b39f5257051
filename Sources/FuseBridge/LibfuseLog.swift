import ByteSources
import CFuse
import Synchronization
import TensorFS
#if canImport(Glibc)
import Glibc
#endif

/// Routes libfuse's own messages into the event log and remembers the last error, so that a
/// failed mount can say why in one line.
///
/// libfuse writes some messages in several calls (an unknown option is reported as three
/// fragments), so fragments are held until the newline that ends the message.
enum LibfuseLog {
    private struct State {
        var log: EventLog = .disabled
        var last: String?
        var pending = ""
        var pendingIsError = false
    }

    private static let state = Mutex(State())

    /// Sends libfuse's messages to `log` from now on.
    static func capture(into log: EventLog) {
        state.withLock { $0 = State(log: log) }
        fuse_set_log_func { level, format, arguments in
            guard let arguments else { return }
            var buffer = [CChar](repeating: 0, count: 1024)
            _ = vsnprintf(&buffer, buffer.count, format, arguments)
            let length = buffer.firstIndex(of: 0) ?? buffer.count
            let fragment = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            LibfuseLog.record(fragment, isError: level.rawValue <= FUSE_LOG_ERR.rawValue)
        }
    }

    private static func record(_ fragment: String, isError: Bool) {
        let (log, finished) = state.withLock { state -> (EventLog, (message: String, isError: Bool)?) in
            state.pending += fragment
            state.pendingIsError = state.pendingIsError || isError
            guard fragment.hasSuffix("\n") else { return (state.log, nil) }
            let finished = (message: state.pending.trimmingTrailingWhitespace(), isError: state.pendingIsError)
            (state.pending, state.pendingIsError) = ("", false)
            if finished.isError { state.last = finished.message }
            return (state.log, finished)
        }
        if let finished {
            log.write(finished.isError ? .error : .debug, "libfuse: \(finished.message)")
        }
    }

    /// The last error libfuse reported, and forgets it.
    static func takeLastError() -> String? {
        state.withLock { state in
            defer { state.last = nil }
            return state.last ?? (state.pending.isEmpty ? nil : state.pending.trimmingTrailingWhitespace())
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
