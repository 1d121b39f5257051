import RemoteSources
import Synchronization

/// Turns what remote sources report while a mount loads into one line of progress:
/// `tensorfs: 12 objects found, 5 headers fetched; retrying model-3.safetensors (HTTP 503)`,
/// objects named by their last component so that the line fits a terminal.
final class LoadingProgress: Sendable {
    private struct Counts {
        var found = 0
        var fetched = 0
        var retry: (object: String, reason: String)?
    }

    private let counts = Mutex(Counts())
    private let show: @Sendable (String) -> Void

    /// Progress whose lines go to `show`.
    init(show: @escaping @Sendable (String) -> Void) {
        self.show = show
    }

    /// Takes in `event` and shows the line it leads to.
    func record(_ event: RemoteProgress) {
        let line = counts.withLock { counts in
            switch event {
            case .listed(_, let objects): counts.found += objects
            case .fetchedHeader: counts.fetched += 1
            case .retrying(let object, let reason): counts.retry = (Self.lastComponent(object), reason)
            }
            return Self.line(counts)
        }
        show(line)
    }

    private static func lastComponent(_ object: String) -> String {
        object.split(separator: "/").last.map(String.init) ?? object
    }

    private static func line(_ counts: Counts) -> String {
        var parts: [String] = []
        if counts.found > 0 { parts.append("\(counts.found) \(counts.found == 1 ? "object" : "objects") found") }
        parts.append("\(counts.fetched) \(counts.fetched == 1 ? "header" : "headers") fetched")
        var line = "tensorfs: " + parts.joined(separator: ", ")
        if let retry = counts.retry { line += "; retrying \(retry.object) (\(retry.reason))" }
        return line
    }
}
