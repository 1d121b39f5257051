import CFuse
import TensorFS
#if canImport(Glibc)
import Glibc
#endif

/// How to mount: where, with which FUSE options, and how the session runs.
public struct MountSettings: Sendable {
    /// The directory to mount on, absolute with symlinks resolved, as `/proc/self/mountinfo`
    /// lists it (`MountTable.realpathWithoutTouchingMount`).
    public var mountpoint: String
    /// Extra `-o` options from the user (`allow_other`, ...).
    public var fuseOptions: [String]
    /// The kernel's read-ahead for the mount, in KiB; nil keeps the kernel's default.
    public var readAheadKiB: Int?
    /// The most worker threads serving requests at once.
    public var threads: Int

    /// Creates settings.
    public init(mountpoint: String, fuseOptions: [String] = [], readAheadKiB: Int? = 4096, threads: Int = MountSettings.defaultThreads) {
        self.mountpoint = mountpoint
        self.fuseOptions = fuseOptions
        self.readAheadKiB = readAheadKiB
        self.threads = threads
    }

    /// Enough workers to keep reads of cold sources in flight (a worker waits while the kernel
    /// reads the source's pages in); see docs/PERFORMANCE.md (cold reads).
    public static let defaultThreads = 16
}

/// Why a FUSE session could not start.
public struct MountError: Error, CustomStringConvertible, Sendable {
    /// One line for the user.
    public var description: String
}

extension FuseBridge {
    /// Mounts read-only at `settings.mountpoint` and serves requests until the filesystem is
    /// unmounted or a SIGINT, SIGTERM or SIGHUP arrives; then unmounts.
    public func serve(_ settings: MountSettings) throws(MountError) {
        LibfuseLog.capture(into: log)
        // `ro` comes last so that no user option can turn writing on.
        let options = (["default_permissions", "fsname=tensorfs", "subtype=tensorfs"] + settings.fuseOptions + ["ro"]).joined(separator: ",")
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
        self.session = session
        liveSession.withLock { $0 = .running(LiveSession(pointer: session)) }
        defer {
            liveSession.withLock { $0 = .ended }
            fuse_session_destroy(session)
        }
        guard fuse_set_signal_handlers(session) == 0 else {
            throw MountError(description: "cannot install signal handlers")
        }
        defer { fuse_remove_signal_handlers(session) }
        guard fuse_session_mount(session, settings.mountpoint) == 0 else {
            throw MountError(description: "\(settings.mountpoint): cannot mount: \(LibfuseLog.takeLastError() ?? "unknown error")")
        }
        defer { fuse_session_unmount(session) }
        if let readAhead = settings.readAheadKiB {
            scheduleReadAhead(kibibytes: readAhead, mountpoint: settings.mountpoint)
        }
        log.write(.info, "mounted at \(settings.mountpoint)")
        // One descriptor for all workers: cloning one per worker (clone_fd) made walks and
        // concurrent cold reads slower here (docs/PERFORMANCE.md).
        let status = cfuse_session_loop_threads(session, UInt32(max(settings.threads, 1)))
        log.write(.info, "session ended (\(status)), unmounting \(settings.mountpoint)")
    }

    /// Arranges for the kernel's read-ahead of this mount to be raised, so that sequential reads
    /// arrive as large requests. The kernel lowers it to what the INIT reply allows while it
    /// handles that reply, so the raise happens on the first request after INIT (see
    /// `applyDeferredSettings`). Needs root; without it, the default (128 KiB) stays.
    private func scheduleReadAhead(kibibytes: Int, mountpoint: String) {
        guard let device = MountTable.entry(at: mountpoint)?.device else {
            log.write(.info, "read-ahead unchanged: \(mountpoint) not found in /proc/self/mountinfo")
            return
        }
        deferredReadAhead = (path: "/sys/class/bdi/\(device)/read_ahead_kb", kibibytes: kibibytes)
        readAheadPending.store(true, ordering: .releasing)
    }

    /// Writes the deferred read-ahead setting, once.
    func applyDeferredSettings() {
        guard readAheadPending.load(ordering: .acquiring),
              readAheadPending.compareExchange(expected: true, desired: false, ordering: .acquiringAndReleasing).exchanged,
              let (path, kibibytes) = deferredReadAhead else { return }
        guard let file = fopen(path, "w") else {
            log.write(.info, "read-ahead unchanged: cannot open \(path): \(String(cString: strerror(errno)))")
            return
        }
        fputs("\(kibibytes)\n", file)
        fclose(file)
        log.write(.info, "read-ahead set to \(kibibytes) KiB on \(path)")
    }
}
