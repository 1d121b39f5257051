import CFuse
import Synchronization
import TensorFS
#if canImport(Glibc)
import Glibc
#endif

extension FuseServer {
    /// Mounts read-only at `settings.mountpoint` and serves requests until the filesystem is
    /// unmounted or a SIGINT, SIGTERM or SIGHUP arrives; then unmounts.
    ///
    /// `whenLive` runs once the mount answers: the kernel has completed INIT and a first request
    /// was served. Returning false from it (nobody waits for the mount any more) ends the
    /// session. `whenStopping` runs when serving ends, before the unmount, and only after
    /// `whenLive`. A mount that never answers throws the reason, and is unmounted.
    public func serve(
        _ settings: MountSettings, whenLive: @escaping @Sendable () -> Bool, whenStopping: () -> Void = {}
    ) throws(MountError) {
        LibfuseLog.capture(into: log)
        let options = Self.optionList(settings)
        let words: [String] = ["tensorfs", "-o", options]
        let arguments: [UnsafeMutablePointer<CChar>?] = words.map { word in word.withCString { strdup($0) } }
        defer { arguments.forEach { free($0) } }
        var argv = arguments
        var operations = FuseOperations.table()
        let session = argv.withUnsafeMutableBufferPointer { pointer -> OpaquePointer? in
            var args = fuse_args(argc: Int32(pointer.count), argv: pointer.baseAddress, allocated: 0)
            // Parsing replaces the arguments with a copy libfuse allocates; it is ours to free.
            defer { fuse_opt_free_args(&args) }
            return fuse_session_new(&args, &operations, MemoryLayout<fuse_lowlevel_ops>.size, Unmanaged.passUnretained(self).toOpaque())
        }
        guard let session else {
            throw MountError(description: "cannot start a FUSE session: \(LibfuseLog.takeLastError() ?? "invalid FUSE options \(options)")")
        }
        liveSession.withLock { $0 = .running(LiveSession(pointer: session)) }
        defer {
            liveSession.withLock { $0 = .ended }
            fuse_session_destroy(session)
        }
        guard fuse_set_signal_handlers(session) == 0 else {
            throw MountError(description: "cannot install signal handlers")
        }
        defer { fuse_remove_signal_handlers(session) }
        let (mounted, fusermountMessage) = StandardErrorCapture.capturing { fuse_session_mount(session, settings.mountpoint) }
        guard mounted == 0 else {
            throw MountError(description: "\(settings.mountpoint): cannot mount: \(fusermountMessage ?? LibfuseLog.takeLastError() ?? "unknown error")")
        }
        log.write(.info, "mounted at \(settings.mountpoint)")
        passthrough.install(on: session)
        defer { passthrough.closeAll() }
        let live = Atomic<Bool>(false)
        let probe: ReadinessProbe
        do {
            defer { fuse_session_unmount(session) }
            let serving = pthread_self()
            probe = ReadinessProbe(mountpoint: settings.mountpoint) { [log] in
                if let readAhead = settings.readAheadKiB { KernelReadAhead.set(readAhead, mountpoint: settings.mountpoint, log: log) }
                live.store(true, ordering: .releasing)
                guard whenLive() else {
                    log.write(.error, "nobody waits for the mount any more; unmounting")
                    // As if the user had sent SIGTERM: libfuse's handler ends the loop.
                    pthread_kill(serving, SIGTERM)
                    return
                }
                log.write(.info, "the mount answers")
            }
            // One descriptor for all workers: cloning one per worker (clone_fd) made walks and
            // concurrent cold reads slower here (docs/PERFORMANCE.md).
            let status = cfuse_session_loop_threads(session, UInt32(max(settings.threads, 1)))
            log.write(.info, "session ended (\(status)), unmounting \(settings.mountpoint)")
            if live.load(ordering: .acquiring) { whenStopping() }
        }
        switch probe.finish() {
        case .answered:
            return
        case .failed(let code):
            throw MountError(description: "\(settings.mountpoint): the kernel did not complete the mount: \(LibfuseLog.takeLastError() ?? code.description)")
        case .ended:
            throw MountError(description: "\(settings.mountpoint): the session ended before the mount answered\(LibfuseLog.takeLastError().map { ": \($0)" } ?? "")")
        }
    }

    /// The `-o` list for libfuse: the sources as the mount's name, then the user's options, and
    /// `ro` last so that no user option can turn writing on.
    static func optionList(_ settings: MountSettings) -> String {
        let name = "fsname=" + escapedOptionValue(settings.sourceName)
        return (["default_permissions", name, "subtype=tensorfs"] + settings.fuseOptions + ["ro"]).joined(separator: ",")
    }

    /// `value` with the characters libfuse's option parser treats specially (`,` and `\`)
    /// escaped by a backslash.
    private static func escapedOptionValue(_ value: String) -> String {
        var escaped = ""
        for character in value {
            if character == "," || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
