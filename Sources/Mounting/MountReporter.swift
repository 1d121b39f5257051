/// Where a mount being served tells how it goes: the launcher's channel for a background daemon
/// (`LauncherReporter`), the terminal and systemd in the foreground (`ForegroundReporter`).
protocol MountReporter: Sendable {
    /// Whether progress lines are wanted (someone sees them on a terminal).
    var showsProgress: Bool { get }
    /// Loading advanced; `line` says how far.
    func progress(_ line: String)
    /// Something the user should know that does not stop the mount.
    func warn(_ message: String)
    /// The model is loaded and the mount is about to be made (on the thread that will serve).
    func mounting()
    /// The mount answers; false when nobody waits for it any more.
    func live() -> Bool
    /// Serving ends: the mount is about to go.
    func stopping()
    /// The mount failed, for `message`.
    func fail(_ message: String)
}

/// Reports of a mount served in the foreground: on stderr, and to systemd when it runs as a
/// `Type=notify` service.
struct ForegroundReporter: MountReporter {
    var showsProgress: Bool { Terminal.showsProgress }

    func progress(_ line: String) {
        Terminal.showProgress(line)
    }

    func warn(_ message: String) {
        Terminal.printLine("tensorfs: warning: \(message)")
    }

    func mounting() {}

    func live() -> Bool {
        Terminal.clearProgress()
        ServiceNotifier.notify(["READY=1"])
        return true
    }

    func stopping() {
        ServiceNotifier.notify(["STOPPING=1"])
    }

    func fail(_ message: String) {
        Terminal.printLine("tensorfs: \(message)")
    }
}
