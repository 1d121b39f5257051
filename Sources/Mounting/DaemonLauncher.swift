#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ByteSources
import FuseBridge
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Runs a mount in a background daemon: `tensorfs mount` starts itself again (never `fork` in a
/// Swift process), hands the daemon its configuration over a private channel, and waits until
/// the daemon reports the mount live, or fails with the daemon's own message.
public enum DaemonLauncher {
    /// What the daemon reported.
    public enum Outcome: Sendable {
        /// The mount answers; the daemon runs on with this process id.
        case ready(daemon: Int32)
        /// The daemon failed, with its message.
        case failed(String)
    }

    /// Starts `executable` with `arguments` (which tell it to serve for a launcher on
    /// `channelDescriptor`, and show `ps` what it serves) in a session of its own, its stdio on
    /// /dev/null; hands it `configuration`; and waits. Warnings and, when stderr is a terminal,
    /// progress go to stderr as they come. When the daemon fails after it mounted (it crashed,
    /// say), the mount it left is removed. Under systemd (`Type=notify`), the daemon becomes the
    /// service's main process once it is ready.
    public static func launch(_ configuration: MountConfiguration, executable: String, arguments: [String]) -> Outcome {
        let mountpoint = MountTable.realpathWithoutTouchingMount(configuration.mount.mountpoint)
        let wasMounted = MountTable.entry(at: mountpoint) != nil
        let outcome = spawnAndWait(configuration, executable: executable, arguments: arguments)
        switch outcome {
        case .ready(let daemon):
            ServiceNotifier.notify(["MAINPID=\(daemon)", "READY=1"])
        case .failed:
            if !wasMounted, MountTable.entry(at: mountpoint) != nil {
                try? Unmounter.unmount(mountpoint, lazy: true)
            }
        }
        return outcome
    }

    /// The descriptor the daemon finds its channel on.
    public static var channelDescriptor: Int32 { DaemonHandoff.descriptor }

    private static func spawnAndWait(_ configuration: MountConfiguration, executable: String, arguments: [String]) -> Outcome {
        let showsProgress = Terminal.showsProgress
        defer { Terminal.clearProgress() }
        let ours: FileDescriptor
        let daemon: ChildProcess
        do {
            let (launcherEnd, daemonEnd) = try UnixSocket.pair()
            ours = launcherEnd
            defer { try? daemonEnd.close() }
            var setup = ChildProcess.Setup()
            setup.nullStandardStreams = true
            setup.newSession = true
            setup.descriptors = [(DaemonHandoff.descriptor, daemonEnd)]
            setup.defaultSignals = [SIGINT, SIGTERM, SIGHUP, SIGPIPE]
            do {
                daemon = try ChildProcess.spawn(executable, arguments, setup: setup)
            } catch {
                try? ours.close()
                return .failed("cannot start the daemon \(executable): \(error)")
            }
        } catch {
            return .failed("cannot create the daemon's channel: \(error)")
        }
        defer { try? ours.close() }
        let handoff = DaemonHandoff(launcher: getpid(), showsProgress: showsProgress, configuration: configuration)
        do {
            try UnixSocket.send(Array(try JSONEncoder().encode(handoff)), on: ours)
            try systemCall { shutdown(ours.rawValue, Int32(SHUT_WR)) }
        } catch {
            // The daemon is gone already; its ending says why.
        }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while let count = try? buffer.withUnsafeMutableBytes({ try ours.read(into: $0) }), count > 0 {
            pending += buffer[..<count]
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                switch DaemonReport(line: line) {
                case .progress(let text)?: Terminal.showProgress(text)
                case .warning(let text)?: Terminal.printLine("tensorfs: warning: \(text)")
                case .ready?: return .ready(daemon: daemon.id)
                case .error(let text)?: return .failed(text)
                case nil: break
                }
            }
        }
        return .failed("the daemon exited before the mount was ready (\(daemon.wait()))")
    }
}
