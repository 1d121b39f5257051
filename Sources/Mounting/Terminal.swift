import Synchronization
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// The user's terminal, reached through stderr: whole lines, and one progress line that is
/// rewritten in place while a mount loads (only when stderr is a terminal).
public enum Terminal {
    /// Whether a progress line is showing, to be cleared before the next line.
    private static let showingProgress = Mutex(false)

    /// Whether stderr is a terminal, where a progress line can be rewritten.
    public static var showsProgress: Bool { isatty(2) == 1 }

    /// The widest progress line: a longer one would wrap, and rewriting it would leave lines behind.
    private static let progressWidth = 79

    /// Writes `text` as a line on stderr, after clearing a progress line.
    public static func printLine(_ text: String) {
        showingProgress.withLock { showing in
            write((showing ? "\r\u{1B}[K" : "") + text + "\n")
            showing = false
        }
    }

    /// Shows `text` as the progress line, in place of the previous one.
    public static func showProgress(_ text: String) {
        let shown = text.count > progressWidth ? String(text.prefix(progressWidth - 3)) + "..." : text
        showingProgress.withLock { showing in
            write("\r\u{1B}[K" + shown)
            showing = true
        }
    }

    /// Removes the progress line, if one is showing.
    public static func clearProgress() {
        showingProgress.withLock { showing in
            if showing { write("\r\u{1B}[K") }
            showing = false
        }
    }

    private static func write(_ text: String) {
        _ = try? FileDescriptor.standardError.writeAll(text.utf8)
    }
}
