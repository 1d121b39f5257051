#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SystemPackage

/// The daemon's end of the channel to the `tensorfs mount` that started it: the handoff comes
/// in, reports go out (`DaemonHandoff`).
final class LauncherReporter: MountReporter {
    private let channel: FileDescriptor
    private let launcher: Int32
    let showsProgress: Bool

    private init(channel: FileDescriptor, handoff: DaemonHandoff) {
        self.channel = channel
        launcher = handoff.launcher
        showsProgress = handoff.showsProgress
    }

    /// Reads the handoff from `descriptor`, while watching the launcher: the daemon ends if the
    /// launcher does, until the mount is live. Nil when the launcher went away before handing
    /// over, or is no longer this process's parent.
    static func accept(descriptor: Int32) -> (LauncherReporter, MountConfiguration)? {
        LauncherWatch.begin()
        let channel = FileDescriptor(rawValue: descriptor)
        guard let bytes = try? channel.readToEnd(limit: DaemonHandoff.maximumSize),
              let handoff = try? JSONDecoder().decode(DaemonHandoff.self, from: Data(bytes)),
              LauncherWatch.parentIs(handoff.launcher) else { return nil }
        return (LauncherReporter(channel: channel, handoff: handoff), handoff.configuration)
    }

    func progress(_ line: String) {
        send(.progress(line))
    }

    func warn(_ message: String) {
        send(.warning(message))
    }

    /// Stops watching the launcher: the kernel's signal goes to the thread that asked for it,
    /// which is about to serve. From now on a launcher that went away is found when the mount is
    /// reported live, and the mount is undone.
    func mounting() {
        LauncherWatch.end()
    }

    /// Reports the mount live; false when the launcher is gone.
    func live() -> Bool {
        guard LauncherWatch.parentIs(launcher) else { return false }
        defer { try? channel.close() }
        return send(.ready)
    }

    /// The launcher has handed over to systemd (if it runs under it), which now knows this
    /// process as the service's main one.
    func stopping() {
        ServiceNotifier.notify(["STOPPING=1"])
    }

    func fail(_ message: String) {
        send(.error(message))
        try? channel.close()
    }

    @discardableResult
    private func send(_ report: DaemonReport) -> Bool {
        (try? UnixSocket.send(Array((report.line + "\n").utf8), on: channel)) != nil
    }
}
