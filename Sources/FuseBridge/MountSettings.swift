/// How to mount: where, under which name, with which FUSE options, who owns the files, and how
/// the session runs.
public struct MountSettings: Sendable, Codable, Equatable {
    /// The directory to mount on. The daemon resolves it (`MountTable.realpathWithoutTouchingMount`)
    /// before mounting, so that it matches what `/proc/self/mountinfo` lists.
    public var mountpoint: String
    /// What the mount is called in `/proc/mounts`, `findmnt` and `df` (its `fsname`): the sources.
    public var sourceName: String
    /// Extra `-o` options for FUSE (`allow_other`, ...).
    public var fuseOptions: [String]
    /// The owner, group and withheld permission bits of every file and directory.
    public var ownership: FileOwnership
    /// Whether a mountpoint that holds files may be mounted over, hiding them.
    public var allowsNonEmptyMountpoint: Bool
    /// The kernel's read-ahead for the mount, in KiB; nil keeps the kernel's default.
    public var readAheadKiB: Int?
    /// The most worker threads serving requests at once.
    public var threads: Int
    /// Whether files that show one whole local file may be read by the kernel itself (FUSE
    /// passthrough), where the kernel and the daemon's privileges allow.
    public var passthrough: Bool

    /// Creates settings.
    public init(
        mountpoint: String, sourceName: String = "tensorfs", fuseOptions: [String] = [], ownership: FileOwnership = FileOwnership(),
        allowsNonEmptyMountpoint: Bool = false, readAheadKiB: Int? = 4096, threads: Int = MountSettings.defaultThreads,
        passthrough: Bool = true
    ) {
        self.mountpoint = mountpoint
        self.sourceName = sourceName
        self.fuseOptions = fuseOptions
        self.ownership = ownership
        self.allowsNonEmptyMountpoint = allowsNonEmptyMountpoint
        self.readAheadKiB = readAheadKiB
        self.threads = threads
        self.passthrough = passthrough
    }

    /// Enough workers to keep reads of cold sources in flight (a worker waits while the kernel
    /// reads the source's pages in); see docs/PERFORMANCE.md (cold reads).
    public static let defaultThreads = 16
}
