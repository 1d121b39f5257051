#if canImport(Glibc)
import Glibc
#endif

/// Who owns every file and directory of a mount, and which permission bits are withheld from
/// them (`-o uid=N,gid=N,umask=NNN`).
///
/// The umask only removes bits: files are 0444 and directories 0555 at most, so no setting
/// makes anything look writable.
public struct FileOwnership: Sendable, Codable, Equatable {
    /// The owner; nil for the user running the daemon.
    public var uid: UInt32?
    /// The group; nil for the daemon's group.
    public var gid: UInt32?
    /// Permission bits removed from every mode, e.g. 0o027.
    public var umask: UInt32

    /// The largest umask: every permission bit.
    public static let maximumUmask: UInt32 = 0o777

    /// Ownership as given; by default the daemon's user and group, modes unchanged.
    public init(uid: UInt32? = nil, gid: UInt32? = nil, umask: UInt32 = 0) {
        self.uid = uid
        self.gid = gid
        self.umask = umask
    }

    /// The owner and group every node reports.
    var owner: (uid: uid_t, gid: gid_t) {
        (uid ?? getuid(), gid ?? getgid())
    }

    /// `permissions` less the withheld bits.
    func mode(_ permissions: UInt32) -> UInt32 {
        permissions & ~umask
    }
}
