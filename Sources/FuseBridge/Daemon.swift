import CFuse
#if canImport(Glibc)
import Glibc
#endif

/// Runs the mount in a background process: the command re-launches itself in the foreground
/// (never `fork` in a Swift process) and waits until the daemon reports the mount live, or
/// fails with the daemon's own message.
///
/// The daemon writes lines to an inherited pipe: `warning TEXT`, then `ready` or `error TEXT`.
public enum Daemon {
    /// The descriptor the daemon finds the pipe on.
    public static let readinessDescriptor: Int32 = 3

    /// What the daemon reported.
    public enum Outcome: Sendable {
        /// The mount is live.
        case ready(warnings: [String])
        /// The daemon failed, with its message.
        case failed(String, warnings: [String])
    }

    /// Starts `executable` with `arguments` in a new session, its stdio on /dev/null and the
    /// readiness pipe on descriptor 3, and waits for its report. When the daemon fails after it
    /// mounted `mountpoint` (it crashed, say), the mount it left is removed.
    public static func launch(executable: String, arguments: [String], mountpoint: String) -> Outcome {
        let absoluteMountpoint = MountTable.realpathWithoutTouchingMount(mountpoint)
        let wasMounted = MountTable.entry(at: absoluteMountpoint) != nil
        let outcome = spawnAndWait(executable: executable, arguments: arguments)
        if case .failed = outcome, !wasMounted, MountTable.entry(at: absoluteMountpoint) != nil {
            try? Unmounter.unmount(mountpoint, lazy: true)
        }
        return outcome
    }

    private static func spawnAndWait(executable: String, arguments: [String]) -> Outcome {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0, fcntl(fds[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(fds[1], F_SETFD, FD_CLOEXEC) == 0 else {
            return .failed("cannot create a pipe: \(String(cString: strerror(errno)))", warnings: [])
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor: Int32 in 0...2 {
            posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, fds[1], readinessDescriptor)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, cfuse_posix_spawn_setsid)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { word in word.withCString { strdup($0) } } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        close(fds[1])
        defer { close(fds[0]) }
        guard spawned == 0 else {
            return .failed("cannot start the daemon \(executable): \(String(cString: strerror(spawned)))", warnings: [])
        }
        var warnings: [String] = []
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            pending += buffer[..<count]
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                if line == "ready" { return .ready(warnings: warnings) }
                if line.hasPrefix("warning ") { warnings.append(String(line.dropFirst(8))) }
                if line.hasPrefix("error ") { return .failed(String(line.dropFirst(6)), warnings: warnings) }
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return .failed("the daemon exited before the mount was ready (\(describe(waitStatus: status)))", warnings: warnings)
    }

    /// "exit status N" or "killed by signal N (NAME)", from a `waitpid` status.
    static func describe(waitStatus status: Int32) -> String {
        let signal = status & 0x7f
        guard signal != 0 else { return "exit status \((status >> 8) & 0xff)" }
        return "killed by signal \(signal) (\(String(cString: strsignal(signal))))"
    }
}

/// The daemon's end of the readiness pipe.
public struct ReadinessReporter: Sendable {
    private let descriptor: Int32

    /// Reports on `descriptor`.
    public init(descriptor: Int32) {
        self.descriptor = descriptor
        // Programs the daemon starts (fusermount3) must not hold the launcher waiting.
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
    }

    /// Passes on a warning for the user.
    public func warn(_ message: String) {
        send("warning " + message)
    }

    /// Reports failure; the launcher prints `message` and exits non-zero.
    public func fail(_ message: String) {
        send("error " + message)
        close(descriptor)
    }

    /// Reports the mount live and closes the pipe; false when nobody was listening any more.
    @discardableResult
    public func ready() -> Bool {
        let delivered = send("ready")
        close(descriptor)
        return delivered
    }

    @discardableResult
    private func send(_ line: String) -> Bool {
        var text = line.replacingOccurrences(of: "\n", with: " ") + "\n"
        return text.withUTF8 { write(descriptor, $0.baseAddress, $0.count) == $0.count }
    }
}

private extension String {
    func replacingOccurrences(of target: Character, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
