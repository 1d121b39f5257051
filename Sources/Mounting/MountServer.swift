import ByteSources
import FuseBridge
import RemoteSources
import TensorFS
#if canImport(Glibc)
import Glibc
#endif

/// Serves a mount in this process: loads the model, checks the mountpoint, mounts, and serves
/// until unmounted; then exits. A background daemon reports to its launcher, a foreground
/// mount to the terminal.
public enum MountServer {
    /// Serves `configuration` here, attached to the terminal; SIGINT or SIGTERM unmounts.
    public static func serveInForeground(_ configuration: MountConfiguration) -> Never {
        serve(configuration, reporter: ForegroundReporter(), foreground: true)
    }

    /// Serves as the daemon of a `tensorfs mount` that handed its configuration over on
    /// `descriptor` (`DaemonLauncher`). Exits at once, mounting nothing, when the launcher went
    /// away before handing over.
    public static func serveForLauncher(descriptor: Int32) -> Never {
        guard let (reporter, configuration) = LauncherReporter.accept(descriptor: descriptor) else { exit(1) }
        // A daemon must not keep the directory it was started from busy; every path in the
        // configuration is absolute.
        _ = try? systemCall { chdir("/") }
        serve(configuration, reporter: reporter, foreground: false)
    }

    private static func serve(_ configuration: MountConfiguration, reporter: any MountReporter, foreground: Bool) -> Never {
        var log = EventLog.disabled
        do {
            ProcessMemory.prepareForLoading()
            log = try LogDestination.open(for: configuration, foreground: foreground)
            let progress = reporter.showsProgress ? LoadingProgress(show: reporter.progress) : nil
            let remoteContext = try RemoteContext(settings: configuration.remote, log: log, progress: progress.map { $0.record })
            let loader = ModelLoader(locators: remoteContext.locators, options: configuration.loadOptions)
            let models = configuration.separate
                ? try loader.loadSeparately(configuration.sources)
                : [try loader.loadMerged(configuration.sources)]
            log.write(.info, "loaded \(models.reduce(0) { $0 + $1.tensors.count }) tensors from \(models.reduce(0) { $0 + $1.shards.count }) files")
            // Resolved before mounting: once mounted, resolving a path that passes through the
            // mount (`mnt/../mnt`) would wait on this very daemon.
            let mountpoint = try MountPreflight.check(mountpoint: configuration.mount.mountpoint, allowingNonEmpty: configuration.mount.allowsNonEmptyMountpoint)
            for warning in models.flatMap(\.warnings) + remoteContext.warnings {
                log.write(.warning, warning)
                reporter.warn(warning)
            }
            let options = FileSystemOptions(layout: configuration.layout, views: configuration.views, modelDirectories: configuration.separate)
            let fileSystem = try TensorFileSystem(models: models, options: options, tensorParallel: try configuration.tensorParallel?.plan(for: models))
            ProcessMemory.prepareForServing()
            log.write(.info, "serving \(fileSystem.inodeCount) inodes from \(models.reduce(0) { $0 + $1.shards.count }) files")
            let bridge = FuseServer(fileSystem: fileSystem, log: log, ownership: configuration.mount.ownership, passthrough: configuration.mount.passthrough)
            remoteContext.abandonTransfers(once: { bridge.hasEnded })
            var settings = configuration.mount
            settings.mountpoint = mountpoint
            reporter.mounting()
            try bridge.serve(settings, whenLive: reporter.live, whenStopping: reporter.stopping)
            remoteContext.finishCacheWrites()
            exit(0)
        } catch {
            let message = describe(error)
            log.write(.error, message)
            reporter.fail(message)
            exit(1)
        }
    }

    /// The error's line, with a hint when the tensors of several SOURCEs collide: they may be
    /// unrelated models, which mount side by side in directories of their own.
    static func describe(_ error: any Error) -> String {
        if case .duplicateTensor(_, _, _, acrossSources: true)? = error as? ModelError {
            return "\(error); to mount each SOURCE in a directory of its own, add --separate"
        }
        return "\(error)"
    }
}
