import ByteSources
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Checks made before mounting, so that each failure is one clear line rather than a libfuse
/// message or a half-started mount.
public enum MountPreflight {
    /// Fails unless FUSE is usable here and `mountpoint` is a directory that is not already
    /// mounted, and empty unless `allowingNonEmpty`. Returns the mountpoint resolved without
    /// touching it (`MountTable.realpathWithoutTouchingMount`), the path to mount on.
    @discardableResult
    public static func check(mountpoint: String, allowingNonEmpty: Bool = false) throws(MountError) -> String {
        try checkFuseDevice()
        if getuid() != 0 && findInPath("fusermount3") == nil {
            throw MountError(description: "fusermount3 not found: install fuse3 (apt-get install fuse3)")
        }
        let resolved = MountTable.realpathWithoutTouchingMount(mountpoint)
        if let entry = MountTable.entry(at: resolved) {
            // A dead daemon's mount still answers `stat` from the kernel's cache; `statfs` is
            // never cached, so it reaches the daemon, or fails at once when the daemon is gone.
            var status = statvfs()
            do {
                try systemCall { statvfs(mountpoint, &status) }
            } catch .socketNotConnected {
                throw MountError(description: "\(mountpoint): a stale mount is left from a daemon that died (\(entry.type)); clear it with: tensorfs unmount \(mountpoint)")
            } catch {}
            throw MountError(description: "\(mountpoint): already a mountpoint (\(entry.type)); unmount it first: tensorfs unmount \(mountpoint)")
        }
        let directory: OpenDirectory
        do {
            directory = try OpenDirectory.open(mountpoint)
        } catch .noSuchFileOrDirectory {
            throw MountError(description: "\(mountpoint): the mountpoint does not exist")
        } catch .notDirectory {
            throw MountError(description: "\(mountpoint): the mountpoint is not a directory")
        } catch {
            throw MountError(description: "\(mountpoint): the mountpoint cannot be accessed: \(error)")
        }
        guard !allowingNonEmpty, let entries = try? directory.entryNames(), !entries.isEmpty else { return resolved }
        throw MountError(description: "\(mountpoint): the mountpoint is not empty (\(entries.count) \(entries.count == 1 ? "entry" : "entries")); mounting would hide \(entries.count == 1 ? "it" : "them"): use an empty directory, or add --allow-non-empty (-o nonempty)")
    }

    /// Opens `/dev/fuse` as libfuse will, and explains a failure by its cause: no device or no
    /// FUSE in the kernel, or a device this user may not open.
    private static func checkFuseDevice() throws(MountError) {
        let device = "/dev/fuse"
        do {
            close(try systemCall { open(device, O_RDWR | O_CLOEXEC) })
        } catch .permissionDenied, .notPermitted {
            throw MountError(description: "\(device): permission denied for \(userDescription()); \(deviceAccess(device))")
        } catch {
            // No device node, or no FUSE in the kernel (ENODEV, ENXIO).
            throw MountError(description: "\(device) is missing or not accessible (\(error)): load the fuse kernel module, or install fuse3 (apt-get install fuse3)")
        }
    }

    /// `user NAME (uid N)`, or `uid N` when the user has no name.
    private static func userDescription() -> String {
        let uid = getuid()
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return "uid \(uid)" }
        return "user \(String(cString: name)) (uid \(uid))"
    }

    /// The device's mode and group, and what would let this user open it: membership of the
    /// group if the group may read and write it, else a mode that lets everyone (the fuse3
    /// package's default, which udev sets).
    private static func deviceAccess(_ device: String) -> String {
        guard let status = try? FilePath(device).stat() else { return "ask an administrator to let you open it" }
        let mode = "mode 0" + String(status.permissions.rawValue, radix: 8)
        let groupReadWrite: FilePermissions = [.groupRead, .groupWrite]
        guard status.permissions.isSuperset(of: groupReadWrite) else {
            return "\(mode): ask an administrator to run chmod 0666 \(device), the fuse3 package's default"
        }
        let group = getgrgid(status.groupID.rawValue).flatMap { $0.pointee.gr_name.map { String(cString: $0) } } ?? String(status.groupID.rawValue)
        let user = getpwuid(getuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? "USER"
        return "\(mode), group \(group): ask an administrator to add you to the group (usermod -aG \(group) \(user)), then log in again"
    }

    /// The full path of `program` in `$PATH`, if it is there and executable.
    public static func findInPath(_ program: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/bin", "/usr/local/bin"]
        return directories.lazy.map { "\($0)/\(program)" }.first { access($0, X_OK) == 0 }
    }
}
