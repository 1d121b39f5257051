import ByteSources
import CFuse
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A program this process started with `posix_spawn` (a Swift process never forks).
public struct ChildProcess: Sendable {
    /// The child's process id.
    public let id: pid_t

    /// How a child started: on which descriptors, in which session, with which signals.
    public struct Setup {
        /// Descriptors of the child, each a copy of one of ours (`posix_spawn_file_actions_adddup2`);
        /// with `nullStandardStreams`, 0 to 2 are /dev/null.
        public var descriptors: [(child: Int32, parent: FileDescriptor)] = []
        /// Whether the child's stdin, stdout and stderr are /dev/null.
        public var nullStandardStreams = false
        /// Whether the child leads a session of its own, away from our terminal.
        public var newSession = false
        /// Signals whose disposition goes back to the default in the child, whatever this
        /// process inherited (an ignored SIGTERM would keep a daemon alive); none are blocked.
        public var defaultSignals: [Int32] = []

        /// A plain setup: the child inherits our stdio.
        public init() {}
    }

    /// Starts `executable` with `arguments` and this process's environment.
    public static func spawn(_ executable: String, _ arguments: [String], setup: Setup = Setup()) throws(Errno) -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if setup.nullStandardStreams {
            for descriptor: Int32 in 0...2 {
                posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY, 0)
            }
        }
        for (child, parent) in setup.descriptors {
            posix_spawn_file_actions_adddup2(&actions, parent.rawValue, child)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags = Int16(POSIX_SPAWN_SETSIGMASK)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        if setup.newSession { flags |= cfuse_posix_spawn_setsid }
        if !setup.defaultSignals.isEmpty {
            var defaults = sigset_t()
            sigemptyset(&defaults)
            for signal in setup.defaultSignals { sigaddset(&defaults, signal) }
            posix_spawnattr_setsigdefault(&attributes, &defaults)
            flags |= Int16(POSIX_SPAWN_SETSIGDEF)
        }
        posix_spawnattr_setflags(&attributes, flags)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { word in word.withCString { strdup($0) } } + [nil]
        defer { argv.forEach { free($0) } }
        var id: pid_t = 0
        let result = posix_spawn(&id, executable, &actions, &attributes, argv, environ)
        guard result == 0 else { throw Errno(rawValue: result) }
        return ChildProcess(id: id)
    }

    /// Waits for the child to end and says how it did.
    public func wait() -> Ending {
        var status: Int32 = 0
        guard (try? systemCall { waitpid(id, &status, 0) }) != nil else { return .unknown }
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .killed(signal)
    }

    /// How a child ended.
    public enum Ending: Sendable, Equatable, CustomStringConvertible {
        /// It exited with this status.
        case exited(Int32)
        /// A signal killed it.
        case killed(Int32)
        /// It could not be waited for.
        case unknown

        /// "exit status N" or "killed by signal N (NAME)".
        public var description: String {
            switch self {
            case .exited(let status): "exit status \(status)"
            case .killed(let signal): "killed by signal \(signal) (\(String(cString: strsignal(signal))))"
            case .unknown: "its end is unknown"
            }
        }
    }
}
