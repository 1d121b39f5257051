#if canImport(Glibc)
import Glibc
#endif

/// Checks made before mounting, so that each failure is one clear line rather than a libfuse
/// message or a half-started mount.
public enum MountPreflight {
    /// Fails unless FUSE is usable here and `mountpoint` is an empty-handed directory that is
    /// not already mounted.
    public static func check(mountpoint: String) throws(MountError) {
        guard access("/dev/fuse", R_OK | W_OK) == 0 else {
            throw MountError(description: "/dev/fuse is missing or not accessible (\(String(cString: strerror(errno)))): load the fuse kernel module, or install fuse3 (apt-get install fuse3)")
        }
        if getuid() != 0 && findInPath("fusermount3") == nil {
            throw MountError(description: "fusermount3 not found: install fuse3 (apt-get install fuse3)")
        }
        if let entry = MountTable.entry(at: MountTable.realpathWithoutTouchingMount(mountpoint)) {
            // A dead daemon's mount still answers `stat` from the kernel's cache; `statfs` is
            // never cached, so it reaches the daemon, or fails at once when the daemon is gone.
            var status = statvfs()
            if statvfs(mountpoint, &status) != 0 && errno == ENOTCONN {
                throw MountError(description: "\(mountpoint): a stale mount is left from a daemon that died (\(entry.type)); clear it with: tensorfs unmount \(mountpoint)")
            }
            throw MountError(description: "\(mountpoint): already a mountpoint (\(entry.type)); unmount it first: tensorfs unmount \(mountpoint)")
        }
        var status = stat()
        guard stat(mountpoint, &status) == 0 else {
            let reason = errno == ENOENT ? "does not exist" : "cannot be accessed: \(String(cString: strerror(errno)))"
            throw MountError(description: "\(mountpoint): the mountpoint \(reason)")
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw MountError(description: "\(mountpoint): the mountpoint is not a directory")
        }
    }

    /// The full path of `program` in `$PATH`, if it is there and executable.
    public static func findInPath(_ program: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        for directory in ["/usr/bin", "/bin", "/usr/local/bin"] where access("\(directory)/\(program)", X_OK) == 0 {
            return "\(directory)/\(program)"
        }
        return nil
    }
}
