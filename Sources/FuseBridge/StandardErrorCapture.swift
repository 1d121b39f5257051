import ByteSources
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Collects what is written to stderr while a call runs. libfuse mounts for users other than
/// root through `fusermount3`, which explains a refusal (`option allow_other only allowed if
/// 'user_allow_other' is set in /etc/fuse.conf`) on the stderr it inherits: a background
/// daemon's is /dev/null, so the message would be lost.
enum StandardErrorCapture {
    /// Runs `body` with stderr sent into a pipe; returns its result and the text written, or
    /// nil when nothing was (or stderr could not be redirected).
    static func capturing<Result>(_ body: () -> Result) -> (result: Result, text: String?) {
        guard let (reading, writing) = try? FileDescriptor.pipe(),
              let saved = try? FileDescriptor.standardError.duplicate() else {
            return (body(), nil)
        }
        defer {
            try? reading.close()
            try? saved.close()
        }
        let redirected = (try? writing.duplicate(as: .standardError)) != nil
        try? writing.close()
        let result = body()
        guard redirected, (try? saved.duplicate(as: .standardError)) != nil else { return (result, nil) }
        // Every writer has closed its end by now: fusermount3 has exited and this process has
        // put its own stderr back, so the read ends at the text's end.
        let text = (try? reading.readToEnd(limit: 1 << 16)) ?? []
        let message = String(decoding: text, as: UTF8.self).trimmingTrailingWhitespace()
        return (result, message.isEmpty ? nil : message.replacingNewlines())
    }
}

private extension String {
    func replacingNewlines() -> String {
        split(separator: "\n").joined(separator: "; ")
    }
}
