import CFuse
#if canImport(Glibc)
import Glibc
#endif

/// Ends a background daemon whose launcher goes away before the mount is ready (killed, or
/// interrupted with ^C): the user has given up, and nobody would learn of the mount.
///
/// The kernel sends SIGTERM when the parent ends (`PR_SET_PDEATHSIG`), which ends the process
/// while it loads: it has mounted nothing yet. A launcher that ended before the watch began is
/// caught by checking the parent's process id afterwards. The setting belongs to the thread that
/// made it, so that thread ends the watch, just before it mounts; a launcher gone after that is
/// found when the daemon reports the mount live, and the mount is undone.
enum LauncherWatch {
    /// Starts watching: the parent's end sends SIGTERM. Call on the main thread.
    static func begin() {
        _ = cfuse_set_parent_death_signal(SIGTERM)
    }

    /// Whether this process's parent is still `launcher`.
    static func parentIs(_ launcher: pid_t) -> Bool {
        getppid() == launcher
    }

    /// Stops watching, on the thread that started it.
    static func end() {
        _ = cfuse_set_parent_death_signal(0)
    }
}
