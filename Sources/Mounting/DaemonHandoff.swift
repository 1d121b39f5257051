/// What `tensorfs mount` hands the daemon it starts, as JSON over their channel, before the
/// daemon does anything else.
///
/// The channel is a socket the daemon finds on `DaemonHandoff.descriptor`. The launcher writes
/// this value and shuts its side for writing; the daemon answers with lines: `progress TEXT` and
/// `warning TEXT` any number of times, then `ready` or `error TEXT`.
struct DaemonHandoff: Codable {
    /// The launcher's process id: a daemon whose parent is no longer this has been orphaned.
    var launcher: Int32
    /// Whether the launcher shows progress (its stderr is a terminal).
    var showsProgress: Bool
    /// The mount to make.
    var configuration: MountConfiguration

    /// The daemon's descriptor for the channel.
    static let descriptor: Int32 = 3

    /// The largest handoff read: a configuration is a few KB even with thousands of sources.
    static let maximumSize = 64 << 20
}

/// One line the daemon sends its launcher.
enum DaemonReport: Equatable {
    /// Loading advanced: the text of the progress line.
    case progress(String)
    /// Something the user should know that does not stop the mount.
    case warning(String)
    /// The mount answers.
    case ready
    /// The mount failed, for this reason.
    case error(String)

    /// The line on the channel, without its newline (which the text never holds).
    var line: String {
        switch self {
        case .progress(let text): "progress " + Self.flattened(text)
        case .warning(let text): "warning " + Self.flattened(text)
        case .ready: "ready"
        case .error(let text): "error " + Self.flattened(text)
        }
    }

    /// The report a line holds; nil for a line of no known kind.
    init?(line: String) {
        let (kind, text) = line.firstIndex(of: " ").map { (line[..<$0], String(line[line.index(after: $0)...])) } ?? (Substring(line), "")
        switch kind {
        case "progress": self = .progress(text)
        case "warning": self = .warning(text)
        case "ready": self = .ready
        case "error": self = .error(text)
        default: return nil
        }
    }

    private static func flattened(_ text: String) -> String {
        String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}
